// OpenObjectStore(): picks an ObjectStore backend from a URL. A library of its own above the
// backends (local directory, S3), so that none of them depends on another.
#ifndef WALSHIP_SINKS_OBJECT_STORE_OPEN_OBJECT_STORE_H_
#define WALSHIP_SINKS_OBJECT_STORE_OPEN_OBJECT_STORE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sinks/object_store/object_store.h"

namespace walship::sinks {

// Opens a store from its URL: "file:///var/lib/walship" (the directory is created when
// missing) or "s3://BUCKET/PREFIX?...". Unknown schemes are kInvalidArgument naming the
// supported ones.
absl::StatusOr<std::unique_ptr<ObjectStore>> OpenObjectStore(absl::string_view url);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_OPEN_OBJECT_STORE_H_
