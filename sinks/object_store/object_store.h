// Immutable-object storage: a local directory or an S3 bucket behind one interface. Used by
// the agent's object-store sink (writes) and by replay (reads).
#ifndef WALSHIP_SINKS_OBJECT_STORE_OBJECT_STORE_H_
#define WALSHIP_SINKS_OBJECT_STORE_OBJECT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/byte_io.h"

namespace walship::sinks {

struct ObjectInfo {
  std::string key;  // relative to the store's root, e.g. "6789/walship/wal/...seg"
  uint64_t size = 0;
};

// Keys are '/'-separated relative paths of [A-Za-z0-9._-] segments; anything else is
// kInvalidArgument. Objects are written once: a second write to an existing key fails with
// kAlreadyExists and leaves the first object untouched. A successful Put* means the object
// is durable (fsynced, or confirmed by the bucket). Thread-safe.
// No object walship writes is larger: a segment's format limit is 4 GiB, and encryption
// adds well under 1%. A store reading a whole object refuses a longer answer.
inline constexpr uint64_t kMaxObjectBytes = (uint64_t{4} << 30) + (uint64_t{64} << 20);

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The URL it was opened from, without secrets.
  virtual std::string url() const = 0;

  virtual absl::Status Put(absl::string_view key, absl::string_view data) = 0;
  // Stores the contents of the local file at `path` (which the store may consume: the
  // caller must not use the file afterwards).
  virtual absl::Status PutFile(absl::string_view key, const std::string& path) = 0;

  virtual absl::StatusOr<std::string> Get(absl::string_view key) = 0;
  virtual absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(
      absl::string_view key) = 0;

  // Every object whose key starts with `prefix`, in lexicographic key order.
  virtual absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) = 0;

  // Deletes the object; deleting a missing key is OK.
  virtual absl::Status Delete(absl::string_view key) = 0;
};

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_OBJECT_STORE_H_
