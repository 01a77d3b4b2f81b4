// An ObjectStore held in memory, for replay's unit tests: write-once keys, sorted listing,
// and a counter of Get/Open calls per key so tests can check which objects were read.
#ifndef WALSHIP_TESTS_REPLAY_IN_MEMORY_OBJECT_STORE_H_
#define WALSHIP_TESTS_REPLAY_IN_MEMORY_OBJECT_STORE_H_

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/byte_io.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay::testing {

class InMemoryObjectStore : public sinks::ObjectStore {
 public:
  std::string url() const override { return "mem://test"; }

  absl::Status Put(absl::string_view key, absl::string_view data) override {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = objects_.emplace(std::string(key), std::string(data));
    if (!inserted) return absl::AlreadyExistsError(absl::StrCat("\"", key, "\" exists"));
    return absl::OkStatus();
  }
  absl::Status PutFile(absl::string_view key, const std::string& path) override {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return Put(key, buffer.str());
  }
  absl::StatusOr<std::string> Get(absl::string_view key) override {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return absl::NotFoundError(absl::StrCat("no object \"", key, "\""));
    ++reads_[it->first];
    return it->second;
  }
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(absl::string_view key) override {
    absl::StatusOr<std::string> data = Get(key);
    if (!data.ok()) return data.status();
    return proto::MakeStringSource(std::string(key), *std::move(data));
  }
  absl::StatusOr<std::vector<sinks::ObjectInfo>> List(absl::string_view prefix) override {
    absl::MutexLock lock(&mu_);
    std::vector<sinks::ObjectInfo> out;
    for (const auto& [key, data] : objects_) {
      if (absl::StartsWith(key, prefix)) out.push_back({key, data.size()});
    }
    return out;
  }
  absl::Status Delete(absl::string_view key) override {
    absl::MutexLock lock(&mu_);
    objects_.erase(std::string(key));
    return absl::OkStatus();
  }

  // How many times the object was read (Get or Open).
  int reads(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return reads_[key];
  }
  // Total reads of keys containing `part` ("/wal/").
  int reads_containing(absl::string_view part) {
    absl::MutexLock lock(&mu_);
    int total = 0;
    for (const auto& [key, n] : reads_) {
      if (absl::StrContains(key, part)) total += n;
    }
    return total;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> objects_;
  std::map<std::string, int> reads_;
};

}  // namespace walship::replay::testing

#endif  // WALSHIP_TESTS_REPLAY_IN_MEMORY_OBJECT_STORE_H_
