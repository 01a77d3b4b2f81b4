// The S3 object store: write-once PUTs, multipart uploads, ranged reads, paginated lists.
#include "sinks/object_store/s3/s3_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/s3/s3_object_source.h"
#include "sinks/object_store/s3/s3_xml.h"

namespace walship::sinks::s3 {
namespace {

bool Success(const HttpResponse& response) {
  return response.status >= 200 && response.status < 300;
}

// How much of an object's end is compared after a 412 (the whole of a smaller object).
constexpr size_t kCompareTailBytes = 64 << 10;

absl::Status ErrnoError(int err, absl::string_view what) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, ": ", std::strerror(err)));
}

// Reads exactly `n` bytes at `offset` of `fd`.
absl::Status PreadAll(int fd, uint64_t offset, size_t n, std::string* out,
                      const std::string& path) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError(errno, absl::StrFormat("reading \"%s\"", path));
    if (got == 0) {
      return absl::DataLossError(absl::StrFormat("\"%s\" shrank while being uploaded", path));
    }
    done += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status S3Store::AlreadyExists(absl::string_view key) const {
  return absl::AlreadyExistsError(absl::StrFormat(
      "object \"%s\" already exists in %s (objects are written once)", key, url()));
}

// The stored object's size and last bytes against ours. Every object walship writes either
// fits in the compared tail (JSON, manifests, indexes) or ends with a digest of all its bytes
// (a segment's footer holds their SHA-256; an encrypted object ends with the AEAD tag of
// its last chunk), so equal size and tail mean the same object. ETags are not compared:
// with SSE-KMS they are not an MD5 of the content.
absl::StatusOr<bool> S3Store::StoredObjectEquals(const std::string& full_key, uint64_t size,
                                                 absl::string_view tail) {
  S3Request head;
  head.method = "HEAD";
  head.full_key = full_key;
  std::string what = "comparing the object already stored under the same key";
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse headed, client_->Send(head, what));
  if (headed.status == 404) return false;
  if (headed.status != 200) return client_->ErrorFor(headed, what);
  uint64_t stored_size = 0;
  if (!absl::SimpleAtoi(headed.Header("content-length"), &stored_size) || stored_size != size) {
    return false;
  }
  if (tail.empty()) return true;
  S3Request get;
  get.method = "GET";
  get.full_key = full_key;
  get.headers = {{"range", absl::StrFormat("bytes=%d-%d", size - tail.size(), size - 1)}};
  // Room for an error document too; a server that ignores Range answers 200 with the whole
  // object, which is compared when it is small enough to be held.
  get.max_response_bytes = std::max<uint64_t>(tail.size(), uint64_t{1} << 20);
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse got, client_->Send(get, what));
  if (got.status == 404) return false;
  if (got.status == 206) return got.body == tail;
  if (got.status == 200 && got.body.size() == size) {
    return absl::EndsWith(got.body, tail);
  }
  return client_->ErrorFor(got, what);
}

absl::Status S3Store::Put(absl::string_view key, absl::string_view data) {
  WALSHIP_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::string full_key = client_->location().FullKey(key);
  std::string md5 = Md5Digest(data);
  S3Request request;
  request.method = "PUT";
  request.full_key = full_key;
  request.headers = {{"content-md5", Base64Encode(md5)}, {"if-none-match", "*"}};
  request.body = data;
  request.max_response_bytes = 1 << 20;
  std::string what = absl::StrFormat("writing object \"%s\"", key);
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse response, client_->Send(request, what));
  if (Success(response)) return absl::OkStatus();
  if (response.status == 412) {
    // A resent attempt whose first copy was stored unheard also ends here: same bytes.
    absl::string_view tail = data.substr(data.size() - std::min(data.size(), kCompareTailBytes));
    WALSHIP_ASSIGN_OR_RETURN(bool same, StoredObjectEquals(full_key, data.size(), tail));
    if (same) return absl::OkStatus();
    return AlreadyExists(key);
  }
  return client_->ErrorFor(response, what);
}

absl::Status S3Store::PutFile(absl::string_view key, const std::string& path) {
  WALSHIP_RETURN_IF_ERROR(ValidateObjectKey(key));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoError(errno, absl::StrFormat("uploading \"%s\"", path));
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > client_->options().multipart_threshold) {
    WALSHIP_RETURN_IF_ERROR(PutMultipart(key, path, size));
  } else {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, absl::StrFormat("opening \"%s\"", path));
    std::string data;
    absl::Status read = PreadAll(fd, 0, size, &data, path);
    ::close(fd);
    WALSHIP_RETURN_IF_ERROR(read);
    WALSHIP_RETURN_IF_ERROR(Put(key, data));
  }
  ::unlink(path.c_str());
  return absl::OkStatus();
}

absl::Status S3Store::PutMultipart(absl::string_view key, const std::string& path,
                                   uint64_t size) {
  std::string full_key = client_->location().FullKey(key);
  std::string what = absl::StrFormat("uploading object \"%s\" in parts", key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, absl::StrFormat("opening \"%s\"", path));
  absl::Cleanup close_fd = [fd] { ::close(fd); };

  S3Request create;
  create.method = "POST";
  create.full_key = full_key;
  create.query = {{"uploads", ""}};
  create.max_response_bytes = 1 << 20;
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse created, client_->Send(create, what));
  if (!Success(created)) return client_->ErrorFor(created, what);
  absl::StatusOr<std::string> parsed_id = ParseUploadId(created.body);
  if (!parsed_id.ok()) return Annotate(parsed_id.status(), absl::StrCat(what, " in ", url()));
  const std::string upload_id = *std::move(parsed_id);

  // From here on a failure aborts the upload so the bucket keeps no orphaned parts.
  bool completed = false;
  absl::Cleanup abort = [&] {
    if (completed) return;
    S3Request request;
    request.method = "DELETE";
    request.full_key = full_key;
    request.query = {{"uploadId", upload_id}};
    request.max_response_bytes = 1 << 20;
    absl::StatusOr<HttpResponse> response = client_->Send(request, "aborting a multipart upload");
    if (!response.ok() || !Success(*response)) {
      // Some servers (s3rver) do not implement AbortMultipartUpload; a bucket lifecycle rule
      // cleans up what is left.
      LogWarning("s3: aborting the multipart upload of \"%s\" in %s failed: %s", key, url(),
                 response.ok() ? absl::StrCat("HTTP ", response->status)
                               : std::string(response.status().message()));
    }
  };

  uint64_t part_size = std::max<uint64_t>(client_->options().part_size, 5 << 20);
  std::vector<std::string> etags;
  std::string buffer;
  for (uint64_t offset = 0; offset < size; offset += part_size) {
    size_t n = static_cast<size_t>(std::min(part_size, size - offset));
    WALSHIP_RETURN_IF_ERROR(PreadAll(fd, offset, n, &buffer, path));
    std::string md5 = Md5Digest(buffer);
    int part_number = static_cast<int>(etags.size()) + 1;
    S3Request part;
    part.method = "PUT";
    part.full_key = full_key;
    part.query = {{"partNumber", absl::StrCat(part_number)}, {"uploadId", upload_id}};
    part.headers = {{"content-md5", Base64Encode(md5)}};
    part.body = buffer;
    part.max_response_bytes = 1 << 20;
    std::string part_what = absl::StrFormat("%s (part %d)", what, part_number);
    WALSHIP_ASSIGN_OR_RETURN(HttpResponse uploaded, client_->Send(part, part_what));
    if (!Success(uploaded)) return client_->ErrorFor(uploaded, part_what);
    std::string etag = uploaded.Header("etag");
    if (etag.empty()) {
      return absl::DataLossError(
          absl::StrFormat("%s in %s: the server returned no ETag", part_what, url()));
    }
    etags.push_back(etag);
  }

  std::string body = CompleteMultipartBody(etags);
  S3Request complete;
  complete.method = "POST";
  complete.full_key = full_key;
  complete.query = {{"uploadId", upload_id}};
  complete.headers = {{"if-none-match", "*"}};
  complete.body = body;
  complete.max_response_bytes = 1 << 20;
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse done, client_->Send(complete, what));
  if (Success(done) && ParseS3Error(done.body).code.empty()) {
    completed = true;
    return absl::OkStatus();
  }
  if (done.status == 412 || done.status == 404) {
    // 404 NoSuchUpload: an earlier attempt completed it, unheard.
    std::string tail;
    size_t tail_bytes = static_cast<size_t>(std::min<uint64_t>(size, kCompareTailBytes));
    WALSHIP_RETURN_IF_ERROR(PreadAll(fd, size - tail_bytes, tail_bytes, &tail, path));
    WALSHIP_ASSIGN_OR_RETURN(bool same, StoredObjectEquals(full_key, size, tail));
    if (same) {
      completed = true;
      return absl::OkStatus();
    }
  }
  if (done.status == 412) return AlreadyExists(key);
  if (Success(done)) {
    // S3 may answer 200 and put the error in the body.
    S3ErrorBody error = ParseS3Error(done.body);
    return absl::UnavailableError(absl::StrFormat("%s in %s: completing failed (%s: %s)", what,
                                                  url(), error.code, error.message));
  }
  return client_->ErrorFor(done, what);
}

absl::StatusOr<std::string> S3Store::Get(absl::string_view key) {
  WALSHIP_RETURN_IF_ERROR(ValidateObjectKey(key));
  S3Request request;
  request.method = "GET";
  request.full_key = client_->location().FullKey(key);
  request.max_response_bytes = kMaxObjectBytes;
  std::string what = absl::StrFormat("reading object \"%s\"", key);
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse response, client_->Send(request, what));
  if (response.status == 200) return std::move(response.body);
  if (response.status == 404 && ParseS3Error(response.body).code != "NoSuchBucket") {
    return absl::NotFoundError(absl::StrFormat("object \"%s\" not found in %s", key, url()));
  }
  return client_->ErrorFor(response, what);
}

absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> S3Store::Open(absl::string_view key) {
  WALSHIP_RETURN_IF_ERROR(ValidateObjectKey(key));
  S3Request request;
  request.method = "HEAD";
  request.full_key = client_->location().FullKey(key);
  std::string what = absl::StrFormat("opening object \"%s\"", key);
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse response, client_->Send(request, what));
  if (response.status == 404) {
    // HEAD has no body to tell a missing key from a missing bucket; a missing bucket shows
    // up on the first write or list.
    return absl::NotFoundError(absl::StrFormat("object \"%s\" not found in %s", key, url()));
  }
  if (response.status != 200) return client_->ErrorFor(response, what);
  uint64_t size = 0;
  if (!absl::SimpleAtoi(response.Header("content-length"), &size)) {
    return absl::DataLossError(
        absl::StrFormat("%s in %s: no valid Content-Length", what, url()));
  }
  return std::unique_ptr<proto::RandomAccessSource>(
      new S3ObjectSource(client_, std::string(key), request.full_key, size));
}

absl::StatusOr<std::vector<ObjectInfo>> S3Store::List(absl::string_view prefix) {
  const S3Location& location = client_->location();
  std::string root = location.prefix.empty() ? "" : absl::StrCat(location.prefix, "/");
  std::string full_prefix = absl::StrCat(root, prefix);
  std::string what = absl::StrFormat("listing \"%s\"", prefix);
  std::vector<ObjectInfo> objects;
  std::string token;
  for (int page_number = 0;; ++page_number) {
    if (page_number > 1000000) {
      return absl::DataLossError(absl::StrFormat("%s in %s: too many pages", what, url()));
    }
    S3Request request;
    request.method = "GET";
    request.query = {{"list-type", "2"},
                     {"prefix", full_prefix},
                     {"max-keys", absl::StrCat(client_->options().list_page_size)}};
    if (!token.empty()) request.query.emplace_back("continuation-token", token);
    request.max_response_bytes = 64 << 20;
    WALSHIP_ASSIGN_OR_RETURN(HttpResponse response, client_->Send(request, what));
    if (response.status != 200) return client_->ErrorFor(response, what);
    absl::StatusOr<ListPage> page = ParseListObjectsV2(response.body);
    if (!page.ok()) return Annotate(page.status(), absl::StrCat(what, " in ", url()));
    for (ListedObject& object : page->objects) {
      absl::string_view relative = object.key;
      // Anything outside our prefix or not shaped like our keys is foreign: skipped.
      if (!absl::ConsumePrefix(&relative, root) || !absl::StartsWith(relative, prefix) ||
          !ValidateObjectKey(relative).ok()) {
        continue;
      }
      objects.push_back(ObjectInfo{std::string(relative), object.size});
    }
    if (!page->truncated) break;
    if (page->next_continuation_token == token) {
      return absl::DataLossError(absl::StrFormat(
          "%s in %s: the server repeated a continuation token", what, url()));
    }
    token = std::move(page->next_continuation_token);
  }
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

absl::Status S3Store::Delete(absl::string_view key) {
  WALSHIP_RETURN_IF_ERROR(ValidateObjectKey(key));
  S3Request request;
  request.method = "DELETE";
  request.full_key = client_->location().FullKey(key);
  request.max_response_bytes = 1 << 20;
  std::string what = absl::StrFormat("deleting object \"%s\"", key);
  WALSHIP_ASSIGN_OR_RETURN(HttpResponse response, client_->Send(request, what));
  if (Success(response)) return absl::OkStatus();
  if (response.status == 404 && ParseS3Error(response.body).code != "NoSuchBucket") {
    return absl::OkStatus();
  }
  return client_->ErrorFor(response, what);
}

absl::StatusOr<std::unique_ptr<ObjectStore>> OpenS3Store(absl::string_view url,
                                                         const S3Options& options,
                                                         const EnvLookup& env) {
  WALSHIP_ASSIGN_OR_RETURN(S3Location location, ParseS3Url(url, env));
  if (location.InsecureRemote()) {
    LogWarning("s3: %s is reached over plain http:// off this machine: objects and requests "
               "cross the network unencrypted (use an https:// endpoint)",
               location.ToUrl());
  }
  absl::StatusOr<AwsCredentials> credentials = LoadAwsCredentials(env);
  if (!credentials.ok()) {
    return Annotate(credentials.status(), absl::StrFormat("opening %s", location.ToUrl()));
  }
  if (!location.tls_verify) {
    LogWarning("s3: TLS certificate verification is OFF for %s (tls_verify=false); use it "
               "only for testing",
               location.ToUrl());
  }
  // AWS_CA_BUNDLE, as the AWS CLI and SDKs read it: the certificates that may sign the
  // endpoint's (a private CA), instead of the system's.
  std::string ca_bundle = env("AWS_CA_BUNDLE").value_or("");
  if (!ca_bundle.empty() && ::access(ca_bundle.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "opening %s: AWS_CA_BUNDLE names \"%s\", which cannot be read (%s); point it at a "
        "PEM file of the CA certificates that sign the endpoint's certificate",
        location.ToUrl(), ca_bundle, std::strerror(errno)));
  }
  std::unique_ptr<HttpClient> http = NewCurlHttpClient(location.tls_verify, ca_bundle);
  auto client = std::make_shared<const S3Client>(std::move(location), *std::move(credentials),
                                                 options, std::move(http));
  return std::unique_ptr<ObjectStore>(new S3Store(std::move(client)));
}

}  // namespace walship::sinks::s3
