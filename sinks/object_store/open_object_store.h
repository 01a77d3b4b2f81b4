// OpenObjectStore(): picks an ObjectStore backend from a URL. A library of its own above the
// backends (local directory, S3), so that none of them depends on another.
#ifndef WALSHIP_SINKS_OBJECT_STORE_OPEN_OBJECT_STORE_H_
#define WALSHIP_SINKS_OBJECT_STORE_OPEN_OBJECT_STORE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/core/clock.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/retry_probe.h"

namespace walship::sinks {

// What the opened store is given besides its URL. Both must outlive the store.
struct OpenObjectStoreOptions {
  RetryProbe* retry_probe = &NoRetryProbe();  // told about retried requests (S3)
  Clock* clock = &SystemClock();              // request dates and backoff (S3)
};

// Opens a store from its URL: "file:///var/lib/walship" (the directory is created when
// missing) or "s3://BUCKET/PREFIX?...". Unknown schemes are kInvalidArgument naming the
// supported ones.
absl::StatusOr<std::unique_ptr<ObjectStore>> OpenObjectStore(
    absl::string_view url, const OpenObjectStoreOptions& options = {});

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_OPEN_OBJECT_STORE_H_
