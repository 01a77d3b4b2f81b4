// Parsing s3:// object store URLs and their environment fallbacks.
#include "sinks/object_store/s3/s3_url.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks::s3 {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ParseS3Url, EndpointRegionAndPathStyle) {
  ASSERT_OK_AND_ASSIGN(
      S3Location l,
      ParseS3Url("s3://testbucket/pg/main/?endpoint=http://127.0.0.1:9000&region=eu-west-1",
                 FakeEnv({})));
  EXPECT_EQ(l.bucket, "testbucket");
  EXPECT_EQ(l.prefix, "pg/main");
  EXPECT_EQ(l.scheme, "http");
  EXPECT_EQ(l.endpoint_host, "127.0.0.1:9000");
  EXPECT_EQ(l.region, "eu-west-1");
  EXPECT_TRUE(l.path_style);  // an IP endpoint
  EXPECT_TRUE(l.tls_verify);
  EXPECT_EQ(l.Host(), "127.0.0.1:9000");
  EXPECT_EQ(l.FullKey("a/b.seg"), "pg/main/a/b.seg");
  EXPECT_EQ(l.PathFor(l.FullKey("a/b.seg")), "/testbucket/pg/main/a/b.seg");
  EXPECT_EQ(l.ToUrl(),
            "s3://testbucket/pg/main?endpoint=http://127.0.0.1:9000&region=eu-west-1"
            "&addressing=path");
}

TEST(ParseS3Url, DefaultsToAwsVirtualHost) {
  ASSERT_OK_AND_ASSIGN(S3Location l, ParseS3Url("s3://my-bucket", FakeEnv({})));
  EXPECT_EQ(l.region, "us-east-1");
  EXPECT_EQ(l.scheme, "https");
  EXPECT_EQ(l.endpoint_host, "s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(l.path_style);
  EXPECT_EQ(l.prefix, "");
  EXPECT_EQ(l.Host(), "my-bucket.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(l.PathFor("k"), "/k");
}

TEST(ParseS3Url, EnvironmentFallbacks) {
  ASSERT_OK_AND_ASSIGN(
      S3Location l,
      ParseS3Url("s3://bkt/p", FakeEnv({{"AWS_ENDPOINT_URL", "http://localhost:4566/"},
                                        {"AWS_DEFAULT_REGION", "ap-south-1"}})));
  EXPECT_EQ(l.endpoint_host, "localhost:4566");
  EXPECT_EQ(l.region, "ap-south-1");
  EXPECT_TRUE(l.path_style);
  // The S3-specific variable and AWS_REGION win; URL parameters win over both.
  ASSERT_OK_AND_ASSIGN(
      l, ParseS3Url("s3://bkt/p", FakeEnv({{"AWS_ENDPOINT_URL", "http://localhost:1"},
                                           {"AWS_ENDPOINT_URL_S3", "https://s3.example.com"},
                                           {"AWS_REGION", "r1"},
                                           {"AWS_DEFAULT_REGION", "r2"}})));
  EXPECT_EQ(l.endpoint_host, "s3.example.com");
  EXPECT_EQ(l.region, "r1");
  EXPECT_FALSE(l.path_style);
  ASSERT_OK_AND_ASSIGN(l, ParseS3Url("s3://bkt?region=r3&addressing=path",
                                     FakeEnv({{"AWS_REGION", "r1"}})));
  EXPECT_EQ(l.region, "r3");
  EXPECT_TRUE(l.path_style);
}

TEST(ParseS3Url, EncodedEndpointAndOptions) {
  ASSERT_OK_AND_ASSIGN(
      S3Location l,
      ParseS3Url("s3://bkt?endpoint=https%3A%2F%2Fminio.local%3A9000&addressing=virtual"
                 "&tls_verify=false&max_attempts=3",
                 FakeEnv({})));
  EXPECT_EQ(l.endpoint_host, "minio.local:9000");
  EXPECT_FALSE(l.path_style);
  EXPECT_FALSE(l.tls_verify);
  EXPECT_EQ(l.max_attempts, 3);
  EXPECT_THAT(l.ToUrl(), HasSubstr("tls_verify=false"));
}

TEST(ParseS3Url, Rejects) {
  auto env = FakeEnv({});
  EXPECT_THAT(ParseS3Url("file:///x", env), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://Bad_Bucket/x", env),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Bad_Bucket")));
  EXPECT_THAT(ParseS3Url("s3://ab", env), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt/../etc", env), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?secret=x", env),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown parameter")));
  EXPECT_THAT(ParseS3Url("s3://bkt?region=a&region=b", env),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  EXPECT_THAT(ParseS3Url("s3://bkt?endpoint=ftp://h", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?endpoint=http://h/path", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?endpoint=http://user@h", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?addressing=dns", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?tls_verify=no", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?max_attempts=0", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?region=%zz", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt?region=%4", env),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseS3Url("s3://bkt#frag", env), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace walship::sinks::s3

namespace walship::sinks::s3 {
namespace {

// Plain http:// is fine on this machine (s3rver, MinIO beside the agent), a warning off it.
TEST(ParseS3Url, PlainHttpOffThisMachineIsInsecure) {
  struct Case {
    const char* endpoint;
    bool insecure;
  };
  for (const Case& c : {Case{"http://127.0.0.1:9000", false}, Case{"http://localhost:9000", false},
                        Case{"http://[::1]:9000", false}, Case{"https://10.0.0.5:9000", false},
                        Case{"http://10.0.0.5:9000", true}, Case{"http://minio.internal", true},
                        Case{"http://[fd00::5]:9000", true}}) {
    ASSERT_OK_AND_ASSIGN(
        S3Location l,
        ParseS3Url(absl::StrCat("s3://bucket/p?endpoint=", c.endpoint, "&region=us-east-1"),
                   EnvLookup([](absl::string_view) { return std::optional<std::string>(); })));
    EXPECT_EQ(l.InsecureRemote(), c.insecure) << c.endpoint;
  }
}

}  // namespace
}  // namespace walship::sinks::s3
