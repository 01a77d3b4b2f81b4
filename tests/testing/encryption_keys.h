// Helpers for the encryption tests: keys and key rings built from known bytes, and payloads
// that do not repeat with the chunk size.
#ifndef WALSHIP_TESTS_TESTING_ENCRYPTION_KEYS_H_
#define WALSHIP_TESTS_TESTING_ENCRYPTION_KEYS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sinks/object_store/encryption/key_ring.h"

namespace walship::testing {

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
inline std::shared_ptr<const sinks::KeyRing> Ring(const std::vector<std::pair<std::string, int>>& keys) {
  std::string text;
  for (const auto& [id, seed] : keys) absl::StrAppend(&text, KeyLine(id, seed), "\n");
  absl::StatusOr<std::shared_ptr<const sinks::KeyRing>> ring = sinks::KeyRing::FromText(text, "test keys");
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

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_ENCRYPTION_KEYS_H_
