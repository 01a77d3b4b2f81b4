// Helpers for the encryption tests: key rings built from known bytes and an in-memory
// ObjectStore whose stored bytes a test can inspect and tamper with.
#ifndef WALSHIP_TESTS_SINKS_ENCRYPTION_ENCRYPTION_TEST_UTIL_H_
#define WALSHIP_TESTS_SINKS_ENCRYPTION_ENCRYPTION_TEST_UTIL_H_

#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "sinks/object_store/encryption/key_ring.h"
#include "sinks/object_store/file_util.h"
#include "sinks/object_store/object_store.h"

namespace walship::sinks::test_util {

// 32 key bytes derived from `seed`, base64-encoded.
inline std::string KeyBase64(int seed, size_t bytes = 32) {
  std::string raw(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) raw[i] = static_cast<char>(seed * 31 + i * 7 + 1);
  return absl::Base64Escape(raw);
}

inline std::string KeyLine(const std::string& id, int seed) {
  return absl::StrCat(id, ":", KeyBase64(seed));
}

// A ring from "ID:SEED" pairs in order, e.g. Ring({{"B", 2}, {"A", 1}}).
inline std::shared_ptr<const KeyRing> Ring(const std::vector<std::pair<std::string, int>>& keys) {
  std::string text;
  for (const auto& [id, seed] : keys) absl::StrAppend(&text, KeyLine(id, seed), "\n");
  absl::StatusOr<std::shared_ptr<const KeyRing>> ring = KeyRing::FromText(text, "test keys");
  EXPECT_TRUE(ring.ok()) << ring.status();
  return ring.ok() ? *ring : nullptr;
}

// Pseudo-random bytes that do not repeat with the chunk size.
inline std::string Payload(size_t size) {
  std::string data(size, '\0');
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    data[i] = static_cast<char>(x);
  }
  return data;
}

// Objects in a map; shared state so a test keeps a handle after handing the store over.
class MemoryStore : public ObjectStore {
 public:
  struct State {
    absl::Mutex mu;
    std::map<std::string, std::string> objects;
  };
  explicit MemoryStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

  std::string url() const override { return "memory://"; }
  absl::Status Put(absl::string_view key, absl::string_view data) override {
    absl::MutexLock lock(&state_->mu);
    if (!state_->objects.emplace(std::string(key), std::string(data)).second) {
      return absl::AlreadyExistsError(absl::StrCat("object \"", key, "\" already exists"));
    }
    return absl::OkStatus();
  }
  absl::Status PutFile(absl::string_view key, const std::string& path) override {
    absl::StatusOr<std::string> data = fileutil::ReadFile(path);
    if (!data.ok()) return data.status();
    absl::Status put = Put(key, *data);
    if (put.ok()) ::unlink(path.c_str());
    return put;
  }
  absl::StatusOr<std::string> Get(absl::string_view key) override {
    absl::MutexLock lock(&state_->mu);
    auto it = state_->objects.find(std::string(key));
    if (it == state_->objects.end()) return absl::NotFoundError("no such object");
    return it->second;
  }
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(absl::string_view key) override {
    absl::StatusOr<std::string> data = Get(key);
    if (!data.ok()) return data.status();
    return proto::MakeStringSource(std::string(key), *std::move(data));
  }
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<ObjectInfo> out;
    for (const auto& [key, data] : state_->objects) {
      if (absl::string_view(key).substr(0, prefix.size()) == prefix) {
        out.push_back(ObjectInfo{key, data.size()});
      }
    }
    return out;
  }
  absl::Status Delete(absl::string_view key) override {
    absl::MutexLock lock(&state_->mu);
    state_->objects.erase(std::string(key));
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace walship::sinks::test_util

#endif  // WALSHIP_TESTS_SINKS_ENCRYPTION_ENCRYPTION_TEST_UTIL_H_
