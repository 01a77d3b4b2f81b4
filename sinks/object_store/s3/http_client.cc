// The libcurl HTTP client: easy handles reused from a pool so connections stay open.
#include "sinks/object_store/s3/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace walship::sinks::s3 {

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

namespace {

constexpr size_t kMaxIdleHandles = 16;

struct Transfer {
  absl::string_view body;
  size_t sent = 0;
  HttpResponse* response;
  uint64_t max_response_bytes;
  bool too_large = false;
  uint64_t header_bytes = 0;
};

// More header bytes than any S3 answer carries: a broken or hostile server.
constexpr uint64_t kMaxHeaderBytes = 256 << 10;

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = std::min(size * count, transfer->body.size() - transfer->sent);
  std::memcpy(buffer, transfer->body.data() + transfer->sent, n);
  transfer->sent += n;
  return n;
}

// libcurl rewinds when it must resend the body (a redirect or an auth retry).
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* transfer = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > transfer->body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  transfer->sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (transfer->response->body.size() + n > transfer->max_response_bytes) {
    transfer->too_large = true;
    return 0;  // aborts the transfer
  }
  transfer->response->body.append(data, n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  transfer->header_bytes += n;
  if (transfer->header_bytes > kMaxHeaderBytes) {
    transfer->too_large = true;
    return 0;  // aborts the transfer
  }
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after "100 Continue"): forget the previous one's headers.
    transfer->response->headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  transfer->response->headers.emplace_back(
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient(bool tls_verify, std::string ca_bundle)
      : tls_verify_(tls_verify), ca_bundle_(std::move(ca_bundle)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  ~CurlHttpClient() override {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  absl::StatusOr<HttpResponse> Execute(const HttpRequest& request) override {
    CURL* curl = Acquire();
    if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
    bool reusable = true;
    absl::Cleanup release = [this, curl, &reusable] { Release(curl, reusable); };

    HttpResponse response;
    Transfer transfer{request.body, 0, &response, request.max_response_bytes};
    curl_slist* headers = nullptr;
    absl::Cleanup free_headers = [&headers] { curl_slist_free_all(headers); };
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, absl::StrCat(name, ": ", value).c_str());
    }
    // No "Expect: 100-continue" round trip; no default Content-Type for POST.
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "Content-Type:");

    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    absl::Cleanup forget_buffer = [curl] { curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr); };
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls_verify_ ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls_verify_ ? 2L : 0L);
    if (!ca_bundle_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle_.c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    int64_t timeout_ms = absl::ToInt64Milliseconds(request.timeout);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(std::clamp<int64_t>(timeout_ms / 1000, 1, 30)));
    // A longer announced length is refused before any of it is read (WriteBody also stops a
    // body that runs past it without announcing its length).
    // (A HEAD's Content-Length describes the object, not a body.)
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     request.method == "HEAD"
                         ? curl_off_t{0}
                         : static_cast<curl_off_t>(std::min<uint64_t>(request.max_response_bytes,
                                                                      uint64_t{1} << 62)));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT" || request.method == "POST") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
      curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, SeekBody);
      curl_easy_setopt(curl, CURLOPT_SEEKDATA, &transfer);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else if (request.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
      reusable = false;
      if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        return absl::UnavailableError(absl::StrFormat(
            "%s %s: the server's answer is longer than this request can return (%d bytes of "
            "body, %d of headers); a misbehaving endpoint or proxy?",
            request.method, Redacted(request.url), request.max_response_bytes, kMaxHeaderBytes));
      }
      std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
      if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "%s %s: the endpoint's TLS certificate is not trusted (%s); if it is signed by a "
            "private CA, set AWS_CA_BUNDLE to that CA's certificate (PEM)",
            request.method, Redacted(request.url), detail));
      }
      return absl::UnavailableError(
          absl::StrFormat("%s %s: %s", request.method, Redacted(request.url), detail));
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  // The URL without its query (which may hold an upload id or a continuation token).
  static std::string Redacted(const std::string& url) { return url.substr(0, url.find('?')); }

  CURL* Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        curl_easy_reset(handle);  // keeps its open connections
        return handle;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* handle, bool reusable) {
    if (reusable) {
      absl::MutexLock lock(&mu_);
      if (idle_.size() < kMaxIdleHandles) {
        idle_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }

  const bool tls_verify_;
  const std::string ca_bundle_;
  absl::Mutex mu_;
  std::vector<CURL*> idle_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlHttpClient(bool tls_verify, std::string ca_bundle) {
  return std::make_unique<CurlHttpClient>(tls_verify, std::move(ca_bundle));
}

}  // namespace walship::sinks::s3
