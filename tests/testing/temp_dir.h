// TempDir: a fresh directory under the test temp dir, removed with everything in it when the
// object goes.
#ifndef WALSHIP_TESTS_TESTING_TEMP_DIR_H_
#define WALSHIP_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace walship::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "walship-XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return absl::StrCat(path_, "/", name); }

  // Names of the files directly inside whose names start with `prefix` and end with
  // `suffix`.
  std::vector<std::string> Files(const std::string& prefix, const std::string& suffix) const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      std::string name = entry.path().filename().string();
      if (absl::StartsWith(name, prefix) && absl::EndsWith(name, suffix)) names.push_back(name);
    }
    return names;
  }

 private:
  std::string path_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_TEMP_DIR_H_
