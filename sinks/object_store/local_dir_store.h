// LocalDirStore: the ObjectStore behind "file:///DIR". Each object is a file DIR/<key>,
// written once: built in DIR/.tmp/, fsynced, then linked into place with link(2), which
// fails when the key exists, so a second write never touches the first object.
#ifndef WALSHIP_SINKS_OBJECT_STORE_LOCAL_DIR_STORE_H_
#define WALSHIP_SINKS_OBJECT_STORE_LOCAL_DIR_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sinks/object_store/object_store.h"

namespace walship::sinks {

// Thread-safe (every call works on its own files). Several processes may share a directory:
// write-once holds across them. Errors: bad key kInvalidArgument, existing key
// kAlreadyExists, missing key kNotFound, full disk kResourceExhausted.
class LocalDirStore : public ObjectStore {
 public:
  // `dir` must be absolute. Creates it (and DIR/.tmp) when missing and removes temporary
  // files a crash left in DIR/.tmp.
  static absl::StatusOr<std::unique_ptr<LocalDirStore>> OpenDir(const std::string& dir);

  std::string url() const override;
  absl::Status Put(absl::string_view key, absl::string_view data) override;
  // Moves the file at `path` into the store: link(2) when on the same file system, a copy
  // otherwise. On success `path` is gone; on failure it is left in place.
  absl::Status PutFile(absl::string_view key, const std::string& path) override;
  absl::StatusOr<std::string> Get(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;

  const std::string& dir() const { return dir_; }

 private:
  explicit LocalDirStore(std::string dir) : dir_(std::move(dir)) {}

  // Checks the key (and that it does not name the temporary area) and returns its path.
  absl::StatusOr<std::string> PathOf(absl::string_view key) const;
  // Creates a new, empty, exclusively opened file in DIR/.tmp; returns its fd and path.
  absl::Status CreateTemp(int* fd, std::string* path);
  // Links the fsynced file `from` to the object `key` at `path` and fsyncs its directory.
  absl::Status LinkInto(const std::string& from, absl::string_view key, const std::string& path);

  const std::string dir_;  // absolute, no trailing '/'
  std::atomic<uint64_t> next_temp_{0};
};

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_LOCAL_DIR_STORE_H_
