// A read-through copy of a remote store's objects in a local directory: a restore fetches
// each object it needs once, checks it there, and reads it from there.
//
// The cache sits below decryption: encrypted objects stay encrypted on the local disk.
#ifndef WALSHIP_REPLAY_CATALOG_OBJECT_CACHE_H_
#define WALSHIP_REPLAY_CATALOG_OBJECT_CACHE_H_

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

class ObjectCache : public sinks::ObjectStore {
 public:
  // `dir` is created when missing; the caller removes it when done.
  ObjectCache(std::unique_ptr<sinks::ObjectStore> inner, std::string dir);

  // Downloads `key` into the directory (once; a second call is a no-op). Thread-safe.
  absl::Status Fetch(absl::string_view key);
  // Bytes fetched so far.
  uint64_t fetched_bytes() const { return fetched_bytes_.load(); }
  const std::string& dir() const { return dir_; }

  std::string url() const override { return inner_->url(); }
  absl::Status Put(absl::string_view key, absl::string_view data) override {
    return inner_->Put(key, data);
  }
  absl::Status PutFile(absl::string_view key, const std::string& path) override {
    return inner_->PutFile(key, path);
  }
  // From the directory when fetched, else from the remote store.
  absl::StatusOr<std::string> Get(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(absl::string_view key) override;
  absl::StatusOr<std::vector<sinks::ObjectInfo>> List(absl::string_view prefix) override {
    return inner_->List(prefix);
  }
  absl::Status Delete(absl::string_view key) override { return inner_->Delete(key); }

 private:
  std::string PathOf(absl::string_view key) const;

  std::unique_ptr<sinks::ObjectStore> inner_;
  std::string dir_;
  std::atomic<uint64_t> fetched_bytes_{0};
};

// A directory of the restore's own (mkdtemp "walship-restore-XXXXXX" inside `parent`, or
// inside $TMPDIR, else /tmp, when `parent` is empty), removed with everything in it when the
// owner is destroyed.
class RestoreWorkDir {
 public:
  static absl::StatusOr<RestoreWorkDir> Create(const std::string& parent);
  RestoreWorkDir(RestoreWorkDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  RestoreWorkDir& operator=(RestoreWorkDir&&) = delete;
  ~RestoreWorkDir();
  const std::string& path() const { return path_; }

 private:
  explicit RestoreWorkDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_CATALOG_OBJECT_CACHE_H_
