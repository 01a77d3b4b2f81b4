// S3Store: the ObjectStore behind "s3://BUCKET/PREFIX?endpoint=...&region=...&addressing=..."
// (see s3_url.h). Objects are written once with "If-None-Match: *" and an integrity
// checksum (Content-MD5); files over S3Options::multipart_threshold go up in parts (aborted
// on failure). Credentials come from the AWS environment variables or credentials file.
//
//   ASSIGN_OR_RETURN(auto store, s3::OpenS3Store("s3://backups/pg1?region=eu-west-1"));
//   RETURN_IF_ERROR(store->Put("6789/slot/index/....idx", bytes));
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_S3_STORE_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_S3_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/s3/aws_credentials.h"
#include "sinks/object_store/s3/s3_client.h"

namespace walship::sinks::s3 {

// A write that finds the key taken by an object with the same bytes (same ETag) succeeds:
// a request resent after its answer was lost cannot be told from a repeated write, and
// both leave the bucket as the caller wants it.
//
// Thread-safe. Errors: bad key kInvalidArgument; existing key kAlreadyExists; missing key
// kNotFound; wrong credentials kPermissionDenied; missing bucket kFailedPrecondition; the
// bucket unreachable after every retry kUnavailable.
class S3Store : public ObjectStore {
 public:
  explicit S3Store(std::shared_ptr<const S3Client> client) : client_(std::move(client)) {}

  std::string url() const override { return client_->url(); }
  absl::Status Put(absl::string_view key, absl::string_view data) override;
  // Uploads the file (in parts when large); on success the file is removed, on failure it
  // is left in place.
  absl::Status PutFile(absl::string_view key, const std::string& path) override;
  absl::StatusOr<std::string> Get(absl::string_view key) override;
  // Sources hold the client, so they may outlive the store.
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;

 private:
  absl::Status PutMultipart(absl::string_view key, const std::string& path, uint64_t size);
  // After a write meets 412 (or its upload vanished): whether the object there is the one
  // we wrote (`size` bytes ending with `tail`), judged by its content, never its ETag.
  absl::StatusOr<bool> StoredObjectEquals(const std::string& full_key, uint64_t size,
                                          absl::string_view tail);
  absl::Status AlreadyExists(absl::string_view key) const;

  const std::shared_ptr<const S3Client> client_;
};

// Parses the URL, loads credentials and returns the store. No request is made yet.
// `tls_verify=false` in the URL turns certificate checks off and logs a warning.
absl::StatusOr<std::unique_ptr<ObjectStore>> OpenS3Store(absl::string_view url,
                                                         const S3Options& options = {},
                                                         const EnvLookup& env = ProcessEnv());

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_S3_STORE_H_
