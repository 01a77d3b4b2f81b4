// Secret files readable by others are named in a warning.
#include "proto/core/secret_file.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship {
namespace {

TEST(SecretFile, WarnsWhenGroupOrOthersMayReadIt) {
  std::string path = ::testing::TempDir() + "walship_secret_file_test";
  std::ofstream(path) << "[default]\naws_secret_access_key = x\n";
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_FALSE(LooseSecretFileWarning(path, "AWS credentials file").has_value());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  std::optional<std::string> warning = LooseSecretFileWarning(path, "AWS credentials file");
  ASSERT_TRUE(warning.has_value());
  EXPECT_THAT(*warning, ::testing::HasSubstr("AWS credentials file"));
  EXPECT_THAT(*warning, ::testing::HasSubstr(path));
  EXPECT_THAT(*warning, ::testing::HasSubstr("0644"));
  ASSERT_EQ(::chmod(path.c_str(), 0620), 0);  // group-writable
  EXPECT_TRUE(LooseSecretFileWarning(path, "kafka properties file").has_value());
  std::remove(path.c_str());
  EXPECT_FALSE(LooseSecretFileWarning(path, "missing").has_value());
}

}  // namespace
}  // namespace walship
