// The S3 store against s3rver, a real S3-protocol server started here, with the Debian aws
// CLI as an independent client reading back what we wrote, over http and over https with a
// private CA.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/s3/s3_store.h"
#include "tests/integration/s3_store_test_util.h"
#include "tests/testing/binaries.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/tls_certs.h"

namespace walship::sinks::s3 {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::FindS3rver;
using ::walship::testing::MissingPeersAllowed;
using ::walship::testing::S3rverPaths;
using ::walship::testing::StatusIs;
using ::walship::testing::StreamMode;
using ::walship::testing::Subprocess;
using ::walship::testing::SubprocessOptions;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- s3rver and the aws CLI ----------------------------------------------------------

class S3rverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    S3rverPaths s3rver = FindS3rver();
    if (s3rver.js.empty()) {
      if (MissingPeersAllowed()) GTEST_SKIP() << "s3rver or node is not installed";
      FAIL() << "s3rver or node is not installed: run docker/install_deps.sh --test-peers, "
                "set WALSHIP_S3RVER_JS and WALSHIP_NODE, or WALSHIP_ALLOW_MISSING_PEERS=1 to skip";
    }
    const std::string& js = s3rver.js;
    const std::string& node = s3rver.node;
    dir_ = TempDir("s3rver");
    std::filesystem::create_directories(dir_ + "/data");
    SubprocessOptions options;
    options.stderr_mode = StreamMode::kInherit;
    ASSERT_OK_AND_ASSIGN(
        server_, Subprocess::Start({node, "--openssl-legacy-provider", js, "-d", dir_ + "/data",
                                    "-a", "127.0.0.1", "-p", "0", "--configure-bucket",
                                    "testbucket"},
                                   options));
    for (;;) {
      ASSERT_OK_AND_ASSIGN(std::string line, server_->ReadLine(absl::Seconds(30)));
      size_t at = line.find("listening on 127.0.0.1:");
      if (at != std::string::npos) {
        endpoint_ = absl::StrCat("http://127.0.0.1:", line.substr(at + 23));
        break;
      }
    }
  }

  // Runs the aws CLI against s3rver.
  testing::SubprocessResult Aws(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/aws", "--endpoint-url", endpoint_};
    argv.insert(argv.end(), args.begin(), args.end());
    SubprocessOptions options;
    options.env = {{"AWS_ACCESS_KEY_ID", "S3RVER"},
                   {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
                   {"AWS_DEFAULT_REGION", "us-east-1"},
                   {"HOME", dir_},
                   {"AWS_PAGER", ""}};
    options.unset_env = {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                         "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"};
    absl::StatusOr<testing::SubprocessResult> result =
        Subprocess::Run(argv, absl::Seconds(120), options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : testing::SubprocessResult{};
  }

  std::string dir_;
  std::string endpoint_;
  std::unique_ptr<Subprocess> server_;
};

TEST_F(S3rverTest, AwsCliReadsBackWhatWeWroteByteExact) {
  S3Options options = FastOptions();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store,
                       OpenS3Store(absl::StrCat("s3://testbucket/walship/it?endpoint=",
                                                endpoint_),
                                   options, CredentialsEnv("S3RVER", "S3RVER")));
  std::map<std::string, std::string> written;
  for (int i = 0; i < 5; ++i) {
    std::string key = absl::StrFormat("6789/slot/wal/%016X-%016X.seg", i * 100, i * 100 + 99);
    written[key] = RandomBytes(1000 + i * 777, 10 + i);
    ASSERT_OK(store->Put(key, written[key]));
  }
  written["6789/slot/index/0000000000000199.idx"] = "index bytes";
  ASSERT_OK(store->Put("6789/slot/index/0000000000000199.idx", "index bytes"));
  std::string big_data = RandomBytes(40 << 20, 20);
  written["6789/slot/base/0000000000000400/t.1.seg"] = big_data;
  ASSERT_OK(store->PutFile("6789/slot/base/0000000000000400/t.1.seg",
                           WriteFile(dir_ + "/big", big_data)));

  // Our own listing paginates (two keys a page) through s3rver's continuation tokens.
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store->List("6789/"));
  ASSERT_EQ(listed.size(), written.size());
  for (const ObjectInfo& info : listed) {
    ASSERT_TRUE(written.count(info.key)) << info.key;
    EXPECT_EQ(info.size, written[info.key].size()) << info.key;
  }
  ASSERT_OK_AND_ASSIGN(std::string got, store->Get("6789/slot/index/0000000000000199.idx"));
  EXPECT_EQ(got, "index bytes");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source,
                       store->Open("6789/slot/base/0000000000000400/t.1.seg"));
  ASSERT_OK(source->ReadAt(20 << 20, 4096, &got));
  EXPECT_TRUE(got == big_data.substr(20 << 20, 4096));

  // The aws CLI lists the same keys under the URL's prefix...
  testing::SubprocessResult ls =
      Aws({"s3", "ls", "--recursive", "s3://testbucket/walship/it/"});
  ASSERT_TRUE(ls.ok()) << ls.Describe() << ls.stderr_text;
  for (const auto& [key, data] : written) {
    EXPECT_THAT(ls.stdout_text, HasSubstr(absl::StrCat(data.size(), " walship/it/", key)));
  }
  // ...and downloads each byte-exact.
  for (const auto& [key, data] : written) {
    std::string out = dir_ + "/download";
    std::filesystem::remove(out);
    testing::SubprocessResult cp =
        Aws({"s3", "cp", absl::StrCat("s3://testbucket/walship/it/", key), out});
    ASSERT_TRUE(cp.ok()) << cp.Describe() << cp.stderr_text;
    EXPECT_TRUE(ReadFile(out) == data) << key;
  }

  // An object the CLI wrote is read by us; deleting works for both.
  WriteFile(dir_ + "/from_cli", "written by the aws cli");
  ASSERT_TRUE(Aws({"s3", "cp", dir_ + "/from_cli", "s3://testbucket/walship/it/cli/obj"}).ok());
  ASSERT_OK_AND_ASSIGN(got, store->Get("cli/obj"));
  EXPECT_EQ(got, "written by the aws cli");
  ASSERT_OK(store->Delete("cli/obj"));
  EXPECT_THAT(store->Get("cli/obj"), StatusIs(absl::StatusCode::kNotFound));
  testing::SubprocessResult after = Aws({"s3", "ls", "--recursive", "s3://testbucket/walship/it/cli/"});
  EXPECT_THAT(after.stdout_text, ::testing::Not(HasSubstr("cli/obj")));
}

TEST_F(S3rverTest, MissingBucketIsAClearError) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store,
                       OpenS3Store(absl::StrCat("s3://absent-bucket?endpoint=", endpoint_),
                                   FastOptions(), CredentialsEnv("S3RVER", "S3RVER")));
  EXPECT_THAT(store->Put("k", "v"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                             HasSubstr("absent-bucket")));
}

// S3 over https with certificate checks on: a TLS front (tests/tools/fault_proxy with a
// certificate for "localhost" from a CA made here) before s3rver. With that CA in
// AWS_CA_BUNDLE every request type works and the aws CLI, given the same CA, reads back what
// we wrote; with another CA, or with the system's CAs, the first request is refused with an
// error naming the certificate and AWS_CA_BUNDLE, and nothing is retried; a host name the
// certificate does not carry (127.0.0.1) is refused too.
TEST_F(S3rverTest, HttpsWithAPrivateCaIsVerified) {
  ASSERT_OK_AND_ASSIGN(testing::TestCertificates certs,
                       testing::MakeTestCertificates(dir_ + "/tls"));
  SubprocessOptions proxy_options;
  proxy_options.stderr_mode = StreamMode::kInherit;
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Subprocess> front,
      Subprocess::Start({"/usr/bin/python3", WALSHIP_FAULT_PROXY_PATH, "--upstream", endpoint_,
                         "--tls-cert", certs.server_cert, "--tls-key", certs.server_key},
                        proxy_options));
  ASSERT_OK_AND_ASSIGN(std::string line, front->ReadLine(absl::Seconds(30)));
  absl::string_view port = line;
  ASSERT_TRUE(absl::ConsumePrefix(&port, "LISTENING ")) << line;
  const std::string https = absl::StrCat("https://localhost:", port);

  auto env_with = [](std::map<std::string, std::string> extra) -> EnvLookup {
    extra["AWS_ACCESS_KEY_ID"] = "S3RVER";
    extra["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
    return [extra](absl::string_view name) -> std::optional<std::string> {
      auto it = extra.find(std::string(name));
      if (it == extra.end()) return std::nullopt;
      return it->second;
    };
  };
  S3Options options = FastOptions();
  std::string url = absl::StrCat("s3://testbucket/tls?endpoint=", https);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store,
                       OpenS3Store(url, options, env_with({{"AWS_CA_BUNDLE", certs.ca_cert}})));
  std::string segment = RandomBytes(300 << 10, 31);
  std::string big = RandomBytes(17 << 20, 32);
  ASSERT_OK(store->Put("1/s/wal/a.seg", segment));
  ASSERT_OK(store->PutFile("1/s/base/b.seg", WriteFile(dir_ + "/big", big)));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store->List("1/"));
  ASSERT_EQ(listed.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::string got, store->Get("1/s/wal/a.seg"));
  EXPECT_TRUE(got == segment);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source,
                       store->Open("1/s/base/b.seg"));
  ASSERT_OK(source->ReadAt(9 << 20, 4096, &got));
  EXPECT_TRUE(got == big.substr(9 << 20, 4096));

  // An independent client over the same TLS front, trusting the same CA.
  std::string out = dir_ + "/download";
  SubprocessOptions aws_options;
  aws_options.env = {{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
                     {"AWS_DEFAULT_REGION", "us-east-1"}, {"HOME", dir_}, {"AWS_PAGER", ""}};
  ASSERT_OK_AND_ASSIGN(testing::SubprocessResult cp,
                       Subprocess::Run({"/usr/bin/aws", "--endpoint-url", https, "--ca-bundle",
                                        certs.ca_cert, "s3", "cp", "s3://testbucket/tls/1/s/base/b.seg",
                                        out},
                                       absl::Seconds(120), aws_options));
  ASSERT_TRUE(cp.ok()) << cp.Describe() << cp.stderr_text;
  EXPECT_TRUE(ReadFile(out) == big);

  // Refused: another CA, the system's CAs, a name the certificate does not carry.
  struct Refusal {
    std::string what;
    std::string url;
    std::map<std::string, std::string> env;
  };
  const std::vector<Refusal> refusals = {
      {"another CA", url, {{"AWS_CA_BUNDLE", certs.other_ca_cert}}},
      {"the system's CAs", url, {}},
      {"a host name not in the certificate",
       absl::StrCat("s3://testbucket/tls?endpoint=https://127.0.0.1:", port),
       {{"AWS_CA_BUNDLE", certs.ca_cert}}},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.what);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> refused,
                         OpenS3Store(refusal.url, options, env_with(refusal.env)));
    absl::Time started = absl::Now();
    EXPECT_THAT(refused->Put("1/s/wal/forged.seg", "x"),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         ::testing::AllOf(HasSubstr("TLS certificate is not trusted"),
                                          HasSubstr("AWS_CA_BUNDLE"))));
    EXPECT_LT(absl::Now() - started, absl::Seconds(5)) << "a refused certificate was retried";
  }
  ASSERT_OK_AND_ASSIGN(listed, store->List("1/s/wal/"));
  EXPECT_EQ(listed.size(), 1u);  // nothing reached the bucket through a refused connection

  // A bundle that cannot be read is named at open.
  EXPECT_THAT(OpenS3Store(url, options, env_with({{"AWS_CA_BUNDLE", dir_ + "/absent.pem"}})),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("absent.pem")));
}

}  // namespace
}  // namespace walship::sinks::s3
