// MemoryObjectStore: an ObjectStore held in memory for unit tests: write-once keys, sorted
// listing, and a count of reads (Get or Open) per key, so a test can check which objects a
// step read. Its objects live in a shared State, so a test keeps a handle on them (to
// inspect or tamper with the stored bytes) after handing the store over.
#ifndef WALSHIP_TESTS_TESTING_MEMORY_OBJECT_STORE_H_
#define WALSHIP_TESTS_TESTING_MEMORY_OBJECT_STORE_H_

#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/byte_io.h"
#include "sinks/object_store/file_util.h"
#include "sinks/object_store/object_store.h"

namespace walship::testing {

// Thread-safe.
class MemoryObjectStore : public sinks::ObjectStore {
 public:
  struct State {
    absl::Mutex mu;
    std::map<std::string, std::string> objects ABSL_GUARDED_BY(mu);
    std::map<std::string, int> reads ABSL_GUARDED_BY(mu);
  };
  MemoryObjectStore() : state_(std::make_shared<State>()) {}
  explicit MemoryObjectStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

  std::string url() const override { return "memory://"; }
  absl::Status Put(absl::string_view key, absl::string_view data) override {
    absl::MutexLock lock(&state_->mu);
    if (!state_->objects.emplace(std::string(key), std::string(data)).second) {
      return absl::AlreadyExistsError(absl::StrCat("object \"", key, "\" already exists"));
    }
    return absl::OkStatus();
  }
  // Removes the file once stored, as the real stores do.
  absl::Status PutFile(absl::string_view key, const std::string& path) override {
    absl::StatusOr<std::string> data = sinks::ReadFile(path);
    if (!data.ok()) return data.status();
    absl::Status put = Put(key, *data);
    if (put.ok()) ::unlink(path.c_str());
    return put;
  }
  absl::StatusOr<std::string> Get(absl::string_view key) override {
    absl::MutexLock lock(&state_->mu);
    auto it = state_->objects.find(std::string(key));
    if (it == state_->objects.end()) return absl::NotFoundError("no such object");
    ++state_->reads[it->first];
    return it->second;
  }
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(absl::string_view key) override {
    absl::StatusOr<std::string> data = Get(key);
    if (!data.ok()) return data.status();
    return proto::MakeStringSource(std::string(key), *std::move(data));
  }
  absl::StatusOr<std::vector<sinks::ObjectInfo>> List(absl::string_view prefix) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<sinks::ObjectInfo> out;
    for (const auto& [key, data] : state_->objects) {
      if (absl::StartsWith(key, prefix)) out.push_back(sinks::ObjectInfo{key, data.size()});
    }
    return out;
  }
  absl::Status Delete(absl::string_view key) override {
    absl::MutexLock lock(&state_->mu);
    state_->objects.erase(std::string(key));
    return absl::OkStatus();
  }

  // How many times the object was read (Get or Open).
  int reads(const std::string& key) const {
    absl::MutexLock lock(&state_->mu);
    auto it = state_->reads.find(key);
    return it == state_->reads.end() ? 0 : it->second;
  }
  // Total reads of keys containing `part` ("/wal/").
  int reads_containing(absl::string_view part) const {
    absl::MutexLock lock(&state_->mu);
    int total = 0;
    for (const auto& [key, n] : state_->reads) {
      if (absl::StrContains(key, part)) total += n;
    }
    return total;
  }

  // Every key stored, sorted.
  std::vector<std::string> Keys() const {
    absl::MutexLock lock(&state_->mu);
    std::vector<std::string> keys;
    for (const auto& [key, data] : state_->objects) keys.push_back(key);
    return keys;
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_MEMORY_OBJECT_STORE_H_
