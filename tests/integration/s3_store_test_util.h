// Helpers shared by the S3 store's tests against tests/tools/fake_s3 and s3rver: credentials
// from a fixed environment, a scratch directory, reproducible random bytes, fast retries.
#ifndef WALSHIP_TESTS_INTEGRATION_S3_STORE_TEST_UTIL_H_
#define WALSHIP_TESTS_INTEGRATION_S3_STORE_TEST_UTIL_H_

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sinks/object_store/s3/s3_store.h"

namespace walship::sinks::s3 {

inline EnvLookup CredentialsEnv(const std::string& access_key, const std::string& secret) {
  std::map<std::string, std::string> vars = {{"AWS_ACCESS_KEY_ID", access_key},
                                             {"AWS_SECRET_ACCESS_KEY", secret}};
  return [vars](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline std::string TempDir(absl::string_view name) {
  std::string dir = absl::StrCat(::testing::TempDir(), "/s3_store_test_", name, "_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string data(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) data[i + j] = static_cast<char>(v >> (8 * j));
  }
  return data;
}

inline std::string WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

inline S3Options FastOptions() {
  S3Options options;
  options.initial_backoff = absl::Milliseconds(5);
  options.max_backoff = absl::Milliseconds(50);
  options.request_timeout = absl::Seconds(20);
  options.part_size = 8 << 20;
  options.list_page_size = 2;
  return options;
}

}  // namespace walship::sinks::s3

#endif  // WALSHIP_TESTS_INTEGRATION_S3_STORE_TEST_UTIL_H_
