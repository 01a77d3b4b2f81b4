// Tests for KeyRing: key file and environment syntax, permission check, rotation order,
// and that key bytes never reach an error message.
#include "sinks/object_store/encryption/key_ring.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/encryption/encrypted_store.h"
#include "tests/testing/encryption_keys.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using ::walship::testing::KeyBase64;
using ::walship::testing::KeyLine;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

std::string WriteKeyFile(const ::walship::testing::TempDir& dir, const std::string& text,
                         mode_t mode = 0600) {
  std::string path = dir.Sub("keys");
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << text; }
  EXPECT_EQ(::chmod(path.c_str(), mode), 0);
  return path;
}

TEST(KeyRing, LoadsKeysInFileOrderWithCommentsAndBlankLines) {
  ::walship::testing::TempDir dir;
  std::string path = WriteKeyFile(dir, "# current key first\n\n" + KeyLine("key-2024_b", 2) +
                                           "\r\n  # old\n" + KeyLine("A", 1) + "\n");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const KeyRing> ring, KeyRing::FromFile(path));
  EXPECT_EQ(ring->write_key().id, "key-2024_b");
  EXPECT_THAT(ring->ids(), ElementsAre("key-2024_b", "A"));
  ASSERT_NE(ring->Find("A"), nullptr);
  EXPECT_EQ(ring->Find("A")->bytes[0], 32);  // seed 1: byte 0 = 1*31 + 1
  EXPECT_EQ(ring->Find("key-2024_b")->bytes[31], static_cast<uint8_t>(2 * 31 + 31 * 7 + 1));
  EXPECT_EQ(ring->Find("missing"), nullptr);
}

TEST(KeyRing, ParsesSemicolonSeparatedText) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const KeyRing> ring,
                       KeyRing::FromText(KeyLine("b", 2) + ";" + KeyLine("a", 1) + ";", "env"));
  EXPECT_THAT(ring->ids(), ElementsAre("b", "a"));
}

TEST(KeyRing, RefusesKeyFileReadableByGroupOrOthers) {
  ::walship::testing::TempDir dir;
  for (mode_t mode : {0640, 0604, 0660, 0644, 0700 | 0004}) {
    std::string path = WriteKeyFile(dir, KeyLine("A", 1) + "\n", mode);
    EXPECT_THAT(KeyRing::FromFile(path),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("chmod 600 " + path)))
        << std::oct << mode;
  }
  std::string path = WriteKeyFile(dir, KeyLine("A", 1) + "\n", 0400);
  EXPECT_THAT(KeyRing::FromFile(path), IsOk());
}

TEST(KeyRing, MissingFileIsNotFound) {
  ::walship::testing::TempDir dir;
  EXPECT_THAT(KeyRing::FromFile(dir.Sub("nope")), StatusIs(absl::StatusCode::kNotFound));
}

struct MalformedCase {
  std::string name;
  std::string text;
  std::string message;
};

TEST(KeyRing, RefusesMalformedLinesWithoutEchoingKeyBytes) {
  std::string good = KeyBase64(1);
  const MalformedCase cases[] = {
      {"no colon", good, "line 1: expected \"KEYID:BASE64KEY\""},
      {"empty id", ":" + good, "line 1: invalid key id"},
      {"bad id char", "a.b:" + good, "line 1: invalid key id"},
      {"id too long", std::string(65, 'k') + ":" + good, "line 1: invalid key id"},
      {"not base64", "A:" + good.substr(0, 20) + "!!" + good.substr(22), "not valid base64"},
      {"empty key", "A:", "not valid base64"},
      {"short key", "A:" + KeyBase64(1, 31), "is 31 bytes after base64 decoding"},
      {"long key", "A:" + KeyBase64(1, 33), "is 33 bytes after base64 decoding"},
      {"16-byte key", "A:" + KeyBase64(1, 16), "AES-256 needs 32"},
      {"duplicate", KeyLine("A", 1) + "\n# x\n" + KeyLine("A", 2),
       "line 3: duplicate key id \"A\""},
      {"only comments", "# nothing\n\n", "holds no key"},
      {"empty", "", "holds no key"},
  };
  for (const MalformedCase& c : cases) {
    absl::StatusOr<std::shared_ptr<const KeyRing>> ring = KeyRing::FromText(c.text, "test keys");
    EXPECT_THAT(ring, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message))) << c.name;
    EXPECT_THAT(std::string(ring.status().message()), Not(HasSubstr(good.substr(0, 12)))) << c.name;
  }
}

TEST(KeyRing, ErrorsNameTheFileAndLine) {
  ::walship::testing::TempDir dir;
  std::string path = WriteKeyFile(dir, KeyLine("A", 1) + "\nB:" + KeyBase64(2, 8) + "\n");
  EXPECT_THAT(KeyRing::FromFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("encryption key file \"" + path + "\", line 2")));
}

TEST(KeyRing, ValidKeyIds) {
  EXPECT_TRUE(KeyRing::IsValidKeyId("a"));
  EXPECT_TRUE(KeyRing::IsValidKeyId("Key_2024-01"));
  EXPECT_TRUE(KeyRing::IsValidKeyId(std::string(64, 'x')));
  EXPECT_FALSE(KeyRing::IsValidKeyId(""));
  EXPECT_FALSE(KeyRing::IsValidKeyId(std::string(65, 'x')));
  EXPECT_FALSE(KeyRing::IsValidKeyId("a b"));
  EXPECT_FALSE(KeyRing::IsValidKeyId("a/b"));
  EXPECT_FALSE(KeyRing::IsValidKeyId("a:b"));
}

// LoadConfiguredKeyRing reads the process environment; each test restores it.
class ConfiguredKeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv(kEncryptionKeyEnvVar); }
  void TearDown() override { ::unsetenv(kEncryptionKeyEnvVar); }
};

TEST_F(ConfiguredKeyRingTest, NothingConfiguredMeansNoEncryption) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const KeyRing> ring, LoadConfiguredKeyRing(""));
  EXPECT_EQ(ring, nullptr);
  ::setenv(kEncryptionKeyEnvVar, "", 1);
  ASSERT_OK_AND_ASSIGN(ring, LoadConfiguredKeyRing(""));
  EXPECT_EQ(ring, nullptr);
}

TEST_F(ConfiguredKeyRingTest, ReadsTheEnvironmentVariable) {
  ::setenv(kEncryptionKeyEnvVar, (KeyLine("new", 2) + ";" + KeyLine("old", 1)).c_str(), 1);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const KeyRing> ring, LoadConfiguredKeyRing(""));
  ASSERT_NE(ring, nullptr);
  EXPECT_THAT(ring->ids(), ElementsAre("new", "old"));
}

TEST_F(ConfiguredKeyRingTest, EnvironmentErrorsNameTheVariable) {
  ::setenv(kEncryptionKeyEnvVar, "A:short", 1);
  EXPECT_THAT(LoadConfiguredKeyRing(""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environment variable WALSHIP_ENCRYPTION_KEY, line 1")));
}

TEST_F(ConfiguredKeyRingTest, FileAndVariableTogetherConflict) {
  ::walship::testing::TempDir dir;
  std::string path = WriteKeyFile(dir, KeyLine("A", 1));
  ::setenv(kEncryptionKeyEnvVar, KeyLine("B", 2).c_str(), 1);
  EXPECT_THAT(LoadConfiguredKeyRing(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("use one")));
}

TEST_F(ConfiguredKeyRingTest, ReadsTheFile) {
  ::walship::testing::TempDir dir;
  std::string path = WriteKeyFile(dir, KeyLine("A", 1));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const KeyRing> ring, LoadConfiguredKeyRing(path));
  ASSERT_NE(ring, nullptr);
  EXPECT_EQ(ring->write_key().id, "A");
}

}  // namespace
}  // namespace walship::sinks
