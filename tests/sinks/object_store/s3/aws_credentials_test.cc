// Loading AWS credentials from the environment and the shared credentials file.
#include "sinks/object_store/s3/aws_credentials.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks::s3 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::walship::testing::StatusIs;

constexpr char kFile[] = R"(# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key=secret-default

[profile other]
  aws_access_key_id=AKIDOTHER
  aws_secret_access_key = secret other
aws_session_token = token-other
[broken]
aws_access_key_id = AKIDBROKEN
)";

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ParseCredentialsFile, Profiles) {
  ASSERT_OK_AND_ASSIGN(AwsCredentials d, ParseCredentialsFile(kFile, "default", "f"));
  EXPECT_EQ(d.access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(d.secret_access_key, "secret-default");
  EXPECT_EQ(d.session_token, "");
  ASSERT_OK_AND_ASSIGN(AwsCredentials o, ParseCredentialsFile(kFile, "other", "f"));
  EXPECT_EQ(o.access_key_id, "AKIDOTHER");
  EXPECT_EQ(o.secret_access_key, "secret other");
  EXPECT_EQ(o.session_token, "token-other");
}

TEST(ParseCredentialsFile, ErrorsNameTheProfileButNoSecret) {
  EXPECT_THAT(ParseCredentialsFile(kFile, "missing", "/x/credentials"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no profile \"missing\"")));
  absl::StatusOr<AwsCredentials> broken = ParseCredentialsFile(kFile, "broken", "f");
  EXPECT_THAT(broken, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("aws_secret_access_key")));
  EXPECT_THAT(std::string(broken.status().message()), Not(HasSubstr("AKIDBROKEN")));
  EXPECT_THAT(ParseCredentialsFile("[default\naws_access_key_id=x\n", "default", "f"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(LoadAwsCredentials, EnvironmentFirst) {
  ASSERT_OK_AND_ASSIGN(AwsCredentials c,
                       LoadAwsCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AK"},
                                                   {"AWS_SECRET_ACCESS_KEY", "SK"},
                                                   {"AWS_SESSION_TOKEN", "TOK"},
                                                   {"AWS_SHARED_CREDENTIALS_FILE", "/nope"}})));
  EXPECT_EQ(c.access_key_id, "AK");
  EXPECT_EQ(c.secret_access_key, "SK");
  EXPECT_EQ(c.session_token, "TOK");
  EXPECT_THAT(LoadAwsCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AK"}})),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("AWS_SECRET_ACCESS_KEY")));
}

TEST(LoadAwsCredentials, FileAndProfile) {
  std::string dir = ::testing::TempDir() + "/aws_credentials_test";
  std::filesystem::create_directories(dir + "/.aws");
  std::ofstream(dir + "/.aws/credentials") << kFile;
  ASSERT_OK_AND_ASSIGN(AwsCredentials c, LoadAwsCredentials(FakeEnv({{"HOME", dir}})));
  EXPECT_EQ(c.access_key_id, "AKIDDEFAULT");
  std::ofstream(dir + "/creds") << kFile;
  ASSERT_OK_AND_ASSIGN(c, LoadAwsCredentials(FakeEnv({{"HOME", "/nonexistent"},
                                                      {"AWS_SHARED_CREDENTIALS_FILE",
                                                       dir + "/creds"},
                                                      {"AWS_PROFILE", "other"}})));
  EXPECT_EQ(c.access_key_id, "AKIDOTHER");
  EXPECT_THAT(LoadAwsCredentials(FakeEnv({{"HOME", "/nonexistent"}})),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AWS_ACCESS_KEY_ID")));
}

}  // namespace
}  // namespace walship::sinks::s3
