// The fixture of the agent-to-S3 tests: PostgreSQL with the CRM schema, s3rver (optionally
// behind tests/tools/fault_proxy) or tests/tools/fake_s3, the aws CLI, the check that the slot
// never confirms what the bucket does not hold, and a restore from a store.
#ifndef WALSHIP_TESTS_INTEGRATION_AGENT_S3_FIXTURE_H_
#define WALSHIP_TESTS_INTEGRATION_AGENT_S3_FIXTURE_H_

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/core/lsn.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "sinks/object_store/s3/http_client.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/binaries.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {

// Both servers take these credentials (s3rver's are fixed), so every child process that
// inherits this environment can reach either of them.
inline constexpr char kAccessKey[] = "S3RVER";
inline constexpr char kSecret[] = "S3RVER";
// tests/tools/fake_s3 takes any pair: a secret unlike the key and unlike anything else the
// agent prints, so finding it in a log or a scrape can only mean it leaked.
inline constexpr char kFakeAccessKey[] = "AKIAWALSHIPFAKE0001";
inline constexpr char kFakeSecret[] = "fAkE/sEcReT+kEy=d41d8cd98f00b204e9800998ecf8427e";
inline constexpr char kBucket[] = "walship";

// The highest end LSN over the wal/ keys of a listing.
inline Lsn MaxEndOf(const std::vector<std::string>& keys) {
  Lsn max;
  for (const std::string& key : keys) {
    if (!absl::StrContains(key, "/wal/")) continue;
    std::optional<sinks::ParsedSegmentKey> parsed = sinks::ParseWalSegmentKey(key);
    if (parsed.has_value()) max = std::max(max, parsed->last_end);
  }
  return max;
}

// One workload transaction: the WAL position before and after it.
struct Txn {
  Lsn before;
  Lsn after;
};

class AgentS3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("AWS_ACCESS_KEY_ID", kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", kSecret, 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    for (const char* name : {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                             "AWS_ENDPOINT_URL_S3", "WALSHIP_ENCRYPTION_KEY"}) {
      ::unsetenv(name);
    }
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", CrmSchemaSql()).status());
    work_ = MakeTempDir("s3_work");
    store_ = MakeTempDir("s3_local_store");
    ::setenv("HOME", work_.c_str(), 1);  // no ~/.aws of the user running the tests
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(work_);
      std::filesystem::remove_all(store_);
    }
  }

  // s3rver with bucket kBucket; sets endpoint_. Without it: false, and a failure unless
  // missing peers are allowed (then the test skips).
  bool StartS3rver() {
    S3rverPaths s3rver = FindS3rver();
    if (s3rver.js.empty()) {
      EXPECT_TRUE(MissingPeersAllowed())
          << "s3rver or node is not installed: run docker/install_deps.sh --test-peers, set "
             "WALSHIP_S3RVER_JS and WALSHIP_NODE, or WALSHIP_ALLOW_MISSING_PEERS=1 to skip";
      return false;
    }
    const std::string& js = s3rver.js;
    const std::string& node = s3rver.node;
    std::filesystem::create_directories(work_ + "/s3rver");
    SubprocessOptions options;
    options.stderr_mode = StreamMode::kInherit;
    absl::StatusOr<std::unique_ptr<Subprocess>> server =
        Subprocess::Start({node, "--openssl-legacy-provider", js, "-d", work_ + "/s3rver", "-a",
                           "127.0.0.1", "-p", "0", "--configure-bucket", kBucket},
                          options);
    EXPECT_OK(server.status());
    if (!server.ok()) return true;
    server_ = std::move(*server);
    for (;;) {
      absl::StatusOr<std::string> line = server_->ReadLine(absl::Seconds(30));
      EXPECT_OK(line.status());
      if (!line.ok()) return true;
      size_t at = line->find("listening on 127.0.0.1:");
      if (at != std::string::npos) {
        endpoint_ = absl::StrCat("http://127.0.0.1:", line->substr(at + 23));
        return true;
      }
    }
  }

  // tests/tools/fake_s3 with bucket kBucket; sets endpoint_.
  void StartFake() {
    ::setenv("AWS_ACCESS_KEY_ID", kFakeAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", kFakeSecret, 1);
    std::string secret_file = work_ + "/fake_secret";
    { std::ofstream(secret_file) << kFakeSecret; }
    SubprocessOptions options;
    options.stderr_mode = StreamMode::kInherit;
    ASSERT_OK_AND_ASSIGN(
        server_, Subprocess::Start({"/usr/bin/python3", WALSHIP_FAKE_S3_PATH, "--bucket", kBucket,
                                    "--access-key", kFakeAccessKey, "--secret-key-file", secret_file},
                                   options));
    ASSERT_OK_AND_ASSIGN(std::string line, server_->ReadLine(absl::Seconds(30)));
    absl::string_view port = line;
    ASSERT_TRUE(absl::ConsumePrefix(&port, "LISTENING ")) << line;
    endpoint_ = absl::StrCat("http://127.0.0.1:", port);
    control_ = sinks::s3::NewCurlHttpClient(true);
  }

  std::string S3Url(const std::string& extra = "") const {
    return absl::StrCat("s3://", kBucket, "/crm?endpoint=", endpoint_, "&region=us-east-1", extra);
  }

  // The keys under S3Url(), relative to its prefix, as our own S3 client lists them.
  std::vector<std::string> S3Keys() {
    absl::StatusOr<std::unique_ptr<sinks::ObjectStore>> store = sinks::OpenObjectStore(S3Url());
    EXPECT_OK(store.status());
    if (!store.ok()) return {};
    absl::StatusOr<std::vector<sinks::ObjectInfo>> listed = (*store)->List("");
    EXPECT_OK(listed.status());
    std::vector<std::string> keys;
    if (listed.ok()) {
      for (const sinks::ObjectInfo& info : *listed) keys.push_back(info.key);
    }
    return keys;
  }

  absl::Status WaitForS3Base(Subprocess& agent, const std::string& log) {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      for (const std::string& key : S3Keys()) {
        if (absl::EndsWith(key, "/manifest.pb")) return absl::OkStatus();
      }
      if (!agent.Running()) return absl::InternalError("agent exited: " + ReadFile(log));
      absl::SleepFor(absl::Milliseconds(100));
    }
    return absl::DeadlineExceededError("no base snapshot in S3: " + ReadFile(log));
  }

  // tests/tools/fault_proxy in front of s3rver (StartS3rver first); sets proxy_endpoint_.
  void StartProxy() {
    SubprocessOptions options;
    options.stderr_mode = StreamMode::kInherit;
    ASSERT_OK_AND_ASSIGN(proxy_, Subprocess::Start({"/usr/bin/python3", WALSHIP_FAULT_PROXY_PATH,
                                                    "--upstream", endpoint_},
                                                   options));
    ASSERT_OK_AND_ASSIGN(std::string line, proxy_->ReadLine(absl::Seconds(30)));
    absl::string_view port = line;
    ASSERT_TRUE(absl::ConsumePrefix(&port, "LISTENING ")) << line;
    proxy_endpoint_ = absl::StrCat("http://127.0.0.1:", port);
    proxy_http_ = sinks::s3::NewCurlHttpClient(true);
  }

  absl::StatusOr<sinks::s3::HttpResponse> ProxyCall(const std::string& method,
                                                    const std::string& path_and_query) {
    sinks::s3::HttpRequest request;
    request.method = method;
    request.url = proxy_endpoint_ + path_and_query;
    return proxy_http_->Execute(request);
  }

  // A counter from the proxy's GET /_stats (0 when absent, -1 when unreadable).
  int ProxyStat(const std::string& name) {
    absl::StatusOr<sinks::s3::HttpResponse> response = ProxyCall("GET", "/_stats");
    if (!response.ok() || response->status != 200) return -1;
    std::string needle = absl::StrCat("\"", name, "\": ");
    size_t at = response->body.find(needle);
    if (at == std::string::npos) return 0;
    absl::string_view rest = absl::string_view(response->body).substr(at + needle.size());
    int value = 0;
    return absl::SimpleAtoi(rest.substr(0, rest.find_first_of(",}")), &value) ? value : -1;
  }

  // The agent's URL for the bucket through the proxy.
  std::string ProxiedS3Url() const {
    return absl::StrCat("s3://", kBucket, "/crm?endpoint=", proxy_endpoint_, "&region=us-east-1");
  }

  // POST to one of the fake's control paths.
  void Control(const std::string& path_and_query) {
    sinks::s3::HttpRequest request;
    request.method = "POST";
    request.url = endpoint_ + path_and_query;
    absl::StatusOr<sinks::s3::HttpResponse> response = control_->Execute(request);
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->status, 204) << path_and_query;
  }

  // A counter from the fake's GET /_stats (0 when absent).
  int Stat(const std::string& name) {
    sinks::s3::HttpRequest request;
    request.method = "GET";
    request.url = endpoint_ + "/_stats";
    absl::StatusOr<sinks::s3::HttpResponse> response = control_->Execute(request);
    if (!response.ok()) return -1;
    std::string needle = absl::StrCat("\"", name, "\": ");
    size_t at = response->body.find(needle);
    if (at == std::string::npos) return 0;
    absl::string_view rest = absl::string_view(response->body).substr(at + needle.size());
    int value = 0;
    return absl::SimpleAtoi(rest.substr(0, rest.find_first_of(",}")), &value) ? value : -1;
  }

  SubprocessResult Aws(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/aws", "--endpoint-url", endpoint_};
    argv.insert(argv.end(), args.begin(), args.end());
    SubprocessOptions options;
    options.env = {{"AWS_DEFAULT_REGION", "us-east-1"}, {"AWS_PAGER", ""}};
    options.unset_env = {"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"};
    absl::StatusOr<SubprocessResult> result = Subprocess::Run(argv, absl::Seconds(120), options);
    EXPECT_OK(result.status());
    return result.ok() ? *result : SubprocessResult{};
  }

  // Restores `url` into a new empty database `db` and returns its tables.
  // Every transaction the slot claims (after <= confirmed) must already be in the bucket,
  // listed directly from the S3 server after reading the slot.
  void ExpectConfirmedIsStored(const std::vector<Txn>& txns, const std::string& stage) {
    absl::StatusOr<Lsn> confirmed = SlotConfirmed(*pg_, "crm", "walship");
    ASSERT_OK(confirmed.status());
    Lsn stored = MaxEndOf(S3Keys());
    for (const Txn& txn : txns) {
      if (txn.after <= *confirmed) {
        EXPECT_GT(stored, txn.before) << stage << ": the slot confirmed " << confirmed->ToString()
                                      << " but the bucket ends at " << stored.ToString();
      }
    }
  }

  // Runs one workload step, then checks the invariant above until the slot confirms it.
  void RunStepWatchingTheSlot(const WorkloadStep& step, Subprocess& agent, const std::string& log,
                              std::vector<Txn>* txns) {
    Txn txn;
    ASSERT_OK_AND_ASSIGN(txn.before, CurrentLsn(*pg_, "crm"));
    ASSERT_THAT(pg_->Psql("crm", step.sql).status(), IsOk()) << step.name;
    ASSERT_OK_AND_ASSIGN(txn.after, CurrentLsn(*pg_, "crm"));
    txns->push_back(txn);
    absl::Time deadline = absl::Now() + absl::Seconds(90);
    for (;;) {
      ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(*txns, step.name));
      ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
      if (confirmed >= txn.after) break;
      ASSERT_TRUE(agent.Running()) << ReadFile(log);
      ASSERT_LT(absl::Now(), deadline) << step.name << ": " << ReadFile(log);
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  TableRows RestoreInto(const std::string& url, const std::string& db) {
    EXPECT_OK(pg_->CreateDatabase(db));
    // A remote store's objects are fetched once into a directory of the restore's own
    // inside --work-dir, checked there before the first write, and removed at the end.
    std::string fetch_dir = work_ + "/restore-" + db;
    absl::StatusOr<SubprocessResult> restore = RunReplay(
        {"restore", "--object-store", url, "--target", pg_->ConnInfo(db), "--work-dir", fetch_dir});
    EXPECT_OK(restore.status());
    if (!restore.ok()) return {};
    EXPECT_EQ(restore->exit_code, 0) << restore->stderr_text;
    if (absl::StartsWith(url, "s3://")) {
      EXPECT_THAT(restore->stderr_text, ::testing::HasSubstr("fetched into " + fetch_dir));
    }
    EXPECT_TRUE(std::filesystem::is_empty(fetch_dir)) << "the restore left files in " << fetch_dir;
    absl::StatusOr<TableRows> rows = CaptureTables(*pg_, db);
    EXPECT_OK(rows.status());
    return rows.ok() ? *rows : TableRows{};
  }

  std::unique_ptr<PgCluster> pg_;
  std::string work_;
  std::string store_;
  std::unique_ptr<Subprocess> server_;
  std::string endpoint_;
  std::unique_ptr<Subprocess> proxy_;
  std::string proxy_endpoint_;
  std::unique_ptr<sinks::s3::HttpClient> proxy_http_;
  std::unique_ptr<sinks::s3::HttpClient> control_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_INTEGRATION_AGENT_S3_FIXTURE_H_
