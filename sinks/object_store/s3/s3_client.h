// S3Client: signs S3 requests and sends them with bounded retries (exponential backoff with
// full jitter) on 5xx, 503 SlowDown, throttling, timeouts and connection errors. Shared by
// the store and the readers it opens.
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_S3_CLIENT_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_S3_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/core/clock.h"
#include "sinks/object_store/retry_probe.h"
#include "sinks/object_store/s3/http_client.h"
#include "sinks/object_store/s3/s3_url.h"
#include "sinks/object_store/s3/sigv4_signer.h"

namespace walship::sinks::s3 {

// Tuning for the S3 store; the defaults suit real S3.
struct S3Options {
  int max_attempts = 8;  // per request, first attempt included (URL "max_attempts" wins)
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  absl::Duration request_timeout = absl::Seconds(300);
  uint64_t multipart_threshold = 16 << 20;  // PutFile of larger files uses multipart upload
  uint64_t part_size = 8 << 20;             // >= 5 MiB, as S3 requires
  uint64_t read_ahead = 1 << 20;            // ranged GETs of Open()ed objects fetch this much
  int list_page_size = 1000;                // max-keys of each ListObjectsV2 request
  // Told about every retried request; must outlive the store and every reader it opens.
  RetryProbe* retry_probe = &NoRetryProbe();
  // Signing dates and backoff sleeps; must outlive the store and every reader it opens.
  Clock* clock = &SystemClock();
};

struct S3Request {
  std::string method;
  std::string full_key;  // the key in the bucket (prefix applied); "" for the bucket itself
  KeyValues query;       // raw names and values
  KeyValues headers;     // extra headers, all signed
  absl::string_view body;  // not owned
  // What the answer may hold at most: error documents and acknowledgements are small;
  // requests that read objects or listings set their own bound.
  uint64_t max_response_bytes = uint64_t{1} << 20;
};

// Thread-safe; immutable after construction apart from the HTTP client's connection pool.
class S3Client {
 public:
  S3Client(S3Location location, AwsCredentials credentials, S3Options options,
           std::unique_ptr<HttpClient> http);

  // Sends `request` until a response that is not worth retrying arrives (any status: the
  // caller interprets it) or the attempts run out (kUnavailable with the last error).
  // `what` describes the request for messages ("writing object \"k\""). An answer may
  // belong to a resent request whose first copy took effect unheard (libcurl itself resends
  // on a reused connection that died), so callers must treat conflicts accordingly.
  absl::StatusOr<HttpResponse> Send(const S3Request& request, absl::string_view what) const;

  // The error for an unsuccessful response: 403 kPermissionDenied, NoSuchBucket
  // kFailedPrecondition, 404 kNotFound, other 4xx kFailedPrecondition, else kUnavailable.
  absl::Status ErrorFor(const HttpResponse& response, absl::string_view what) const;

  const S3Location& location() const { return location_; }
  const S3Options& options() const { return options_; }
  std::string url() const { return location_.ToUrl(); }

 private:
  absl::StatusOr<HttpResponse> SendOnce(const S3Request& request) const;
  absl::Duration Backoff(int attempt) const;

  const S3Location location_;
  const SigV4Signer signer_;
  const S3Options options_;
  const std::unique_ptr<HttpClient> http_;
};

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_S3_CLIENT_H_
