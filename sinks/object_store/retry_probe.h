// RetryProbe: what an object store tells its owner about retried requests, so that the
// agent can count them (walship_retries_total) without the stores knowing about metrics.
// Injected through the store's options (OpenObjectStoreOptions, s3::S3Options); the default
// is NoRetryProbe(), which ignores them.
#ifndef WALSHIP_SINKS_OBJECT_STORE_RETRY_PROBE_H_
#define WALSHIP_SINKS_OBJECT_STORE_RETRY_PROBE_H_

#include "absl/strings/string_view.h"

namespace walship::sinks {

// Called from whichever thread retries: implementations must be thread-safe.
class RetryProbe {
 public:
  virtual ~RetryProbe() = default;
  // A store is about to retry a request. `store`: the store's URL without secrets; `kind`:
  // "transport" (connection error or timeout), "throttled" (503, 429, SlowDown),
  // "server_error" (other 5xx) or "other".
  virtual void OnRetry(absl::string_view store, absl::string_view kind) = 0;
};

// A probe that ignores every call (stateless; lives until exit).
RetryProbe& NoRetryProbe();

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_RETRY_PROBE_H_
