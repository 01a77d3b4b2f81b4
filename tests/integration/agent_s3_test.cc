// The shipped agent writing to S3 end to end. (1) A local directory and s3rver, a real
// S3-protocol server, at once: the Debian aws CLI lists and downloads what was stored and
// finds ARCHITECTURE.md's layout; a restore from each store alone equals the source.
// (2) The agent against tests/tools/fake_s3 (SigV4 checked with botocore): injected 500s,
// 503 SlowDown, stalls and dropped connections are retried, the slot never confirms what
// the bucket does not hold, and nothing is lost; a permanent 403 stops the agent with a
// clear error and without acknowledging. (3) The same faults injected in front of s3rver by
// tests/tools/fault_proxy. Write-once (412 on a second PUT) is covered at the
// store level by s3_store_test.cc (FakeS3Test.WriteOnce).
#include <signal.h>
#include <stdlib.h>

#include <cstdlib>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "sinks/object_store/s3/http_client.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/binaries.h"
#include "tests/testing/http_probe.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Both servers take these credentials (s3rver's are fixed), so every child process that
// inherits this environment can reach either of them.
constexpr char kAccessKey[] = "S3RVER";
constexpr char kSecret[] = "S3RVER";
// tests/tools/fake_s3 takes any pair: a secret unlike the key and unlike anything else the
// agent prints, so finding it in a log or a scrape can only mean it leaked.
constexpr char kFakeAccessKey[] = "AKIAWALSHIPFAKE0001";
constexpr char kFakeSecret[] = "fAkE/sEcReT+kEy=d41d8cd98f00b204e9800998ecf8427e";
constexpr char kBucket[] = "walship";

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Keys of a local store directory, relative to it, sorted.
std::vector<std::string> LocalKeys(const std::string& dir) {
  std::vector<std::string> keys;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      keys.push_back(std::filesystem::relative(entry.path(), dir).string());
    }
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// The highest end LSN over the wal/ keys of a listing.
Lsn MaxEndOf(const std::vector<std::string>& keys) {
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

TEST_F(AgentS3Test, LocalDirectoryAndS3rverAtOnceEachRestoresTheSource) {
  if (!StartS3rver()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "s3rver or node is not installed (WALSHIP_ALLOW_MISSING_PEERS=1)";
  }
  ASSERT_FALSE(endpoint_.empty());
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(auto agent,
                       StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                                   "file://" + store_, "--object-store", S3Url(), "--work-dir",
                                   work_ + "/agent", "--segment-max-ms", "50"},
                                  log));
  ASSERT_THAT(WaitForBase(store_, absl::Seconds(60)), IsOk()) << ReadFile(log);
  ASSERT_OK(WaitForS3Base(*agent, log));
  Lsn before_last;
  for (const WorkloadStep& step : CrmWorkload()) {
    ASSERT_OK_AND_ASSIGN(before_last, CurrentLsn(*pg_, "crm"));
    ASSERT_THAT(pg_->Psql("crm", step.sql).status(), IsOk()) << step.name;
  }
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk()) << ReadFile(log);
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  // The aws CLI, an independent client, lists the layout of ARCHITECTURE.md.
  SubprocessResult ls = Aws({"s3", "ls", "--recursive", absl::StrCat("s3://", kBucket, "/crm/")});
  ASSERT_EQ(ls.exit_code, 0) << ls.stderr_text;
  std::vector<std::string> cli_keys;
  for (absl::string_view line : absl::StrSplit(ls.stdout_text, '\n', absl::SkipEmpty())) {
    // "2024-01-01 00:00:00       1234 crm/<key>"
    size_t at = line.find(" crm/");
    ASSERT_NE(at, absl::string_view::npos) << line;
    cli_keys.emplace_back(line.substr(at + 5));
  }
  std::sort(cli_keys.begin(), cli_keys.end());
  const std::regex wal(R"(^[0-9]+/walship/wal/[0-9A-F]{16}-[0-9A-F]{16}\.seg$)");
  const std::regex index(R"(^[0-9]+/walship/index/[0-9A-F]{16}\.idx$)");
  const std::regex manifest(R"(^[0-9]+/walship/base/[0-9A-F]{16}/manifest\.pb$)");
  const std::regex base_rows(R"(^[0-9]+/walship/base/[0-9A-F]{16}/[A-Za-z0-9_.-]+\.[0-9]+\.seg$)");
  int wal_keys = 0, index_keys = 0, manifests = 0, base_keys = 0;
  for (const std::string& key : cli_keys) {
    if (std::regex_match(key, wal)) {
      ++wal_keys;
    } else if (std::regex_match(key, index)) {
      ++index_keys;
    } else if (std::regex_match(key, manifest)) {
      ++manifests;
    } else if (std::regex_match(key, base_rows)) {
      ++base_keys;
    } else if (!absl::StrContains(key, "/heartbeat") &&
               !std::regex_match(key, std::regex(R"(^[0-9]+/walship/incarnation/[0-9]{8}\.json$)"))) {
      ADD_FAILURE() << "key outside the layout: " << key;
    }
  }
  EXPECT_GT(wal_keys, 0);
  EXPECT_EQ(index_keys, wal_keys);
  EXPECT_EQ(manifests, 1);
  EXPECT_GT(base_keys, 0);
  EXPECT_EQ(cli_keys, S3Keys());  // our own paginated listing agrees with the CLI
  // The slot confirmed the last step only once S3 held it too.
  EXPECT_GT(MaxEndOf(cli_keys), before_last);

  // Each sink cuts its own segments (its own timers), so the wal/ and index/ key sets of
  // the two stores may differ. The base, taken once and written to both, is byte-identical.
  // A change segment under the same key in both holds the same events, but its header (the
  // sink's creation time) and so its trailer checksum differ: same size, and only those
  // bytes differ.
  SubprocessResult cp = Aws({"s3", "cp", "--recursive", "--quiet",
                             absl::StrCat("s3://", kBucket, "/crm/"), work_ + "/downloaded"});
  ASSERT_EQ(cp.exit_code, 0) << cp.stderr_text;
  std::vector<std::string> local_keys = LocalKeys(store_);
  std::vector<std::string> common;
  std::set_intersection(local_keys.begin(), local_keys.end(), cli_keys.begin(), cli_keys.end(),
                        std::back_inserter(common));
  int common_wal = 0, identical_wal = 0;
  for (const std::string& key : common) {
    if (absl::StrContains(key, "/heartbeat")) continue;
    std::string s3_bytes = FileBytes(work_ + "/downloaded/" + key);
    std::string local_bytes = FileBytes(store_ + "/" + key);
    EXPECT_FALSE(s3_bytes.empty()) << key;
    if (absl::StrContains(key, "/wal/")) {
      ++common_wal;
      ASSERT_EQ(s3_bytes.size(), local_bytes.size()) << key;
      size_t differing = 0;
      for (size_t i = 0; i < s3_bytes.size(); ++i) differing += s3_bytes[i] != local_bytes[i];
      EXPECT_LT(differing, 512u) << key;
      if (differing == 0) ++identical_wal;
    } else if (absl::StrContains(key, "/base/")) {
      EXPECT_TRUE(s3_bytes == local_bytes) << "differs between stores: " << key;
    }
  }
  for (const std::string& key : cli_keys) {
    if (absl::StrContains(key, "/base/")) {
      EXPECT_TRUE(std::binary_search(local_keys.begin(), local_keys.end(), key)) << key;
    }
  }
  std::printf("[ info ] wal keys: %d in s3rver, %d under the same key in both (%d identical)\n",
              wal_keys, common_wal, identical_wal);

  // A restore from either store alone equals the source.
  EXPECT_EQ(FirstDifference(expected, RestoreInto("file://" + store_, "from_local")), "");
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "from_s3")), "");
}

// One transaction the test wrote, bracketed by the WAL position before and after it.
TEST_F(AgentS3Test, InjectedFaultsAreRetriedAndTheSlotNeverPassesTheBucket) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(
      auto agent, StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                              S3Url(), "--work-dir", work_ + "/agent", "--segment-max-ms", "50",
                              "--metrics-listen", "127.0.0.1:0"},
                             log));
  ASSERT_OK_AND_ASSIGN(int metrics_port, WaitForMetricsPort(log, *agent));
  ASSERT_OK(WaitForS3Base(*agent, log));

  std::vector<Txn> txns;

  // One kind of fault per workload step, each on the uploads that carry its changes.
  const std::vector<std::string> faults = {
      "/_fault?mode=500&count=3&op=put",      "/_fault?mode=503&count=3&op=put",
      "/_fault?mode=drop_mid&count=2&op=put", "/_fault?mode=stall&stall=3&count=1&op=put",
      "/_fault?mode=drop&count=2&op=put",     "/_fault?mode=drop_after&count=1&op=put",
      "/_fault?mode=503&count=2&op=any",
  };
  std::vector<WorkloadStep> steps = CrmWorkload();
  int injected = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string& fault = faults[i % faults.size()];
    ASSERT_NO_FATAL_FAILURE(Control(fault));
    absl::string_view count = fault;
    count = count.substr(count.find("count=") + 6);
    int n = 0;
    ASSERT_TRUE(absl::SimpleAtoi(count.substr(0, count.find('&')), &n));
    injected += n;
    ASSERT_NO_FATAL_FAILURE(RunStepWatchingTheSlot(steps[i], *agent, log, &txns));
  }
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  // The retries the agent counted, per kind (the fake's own counts below).
  HttpReply scrape = HttpGet(metrics_port, "/metrics");
  ASSERT_EQ(scrape.code, 200);
  auto retries = [&](absl::string_view kind) {
    double total = 0;
    for (absl::string_view line : absl::StrSplit(scrape.body, '\n')) {
      if (!absl::StartsWith(line, "walship_retries_total{") ||
          !absl::StrContains(line, absl::StrCat("kind=\"", kind, "\"")) ||
          !absl::StrContains(line, "sink=\"s3://")) {
        continue;
      }
      double value = 0;
      EXPECT_TRUE(absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) << line;
      total += value;
    }
    return total;
  };
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  // Every fault was met and retried past; the lost answer of a stored PUT met 412 on retry.
  EXPECT_EQ(Stat("faults"), injected);
  EXPECT_GE(Stat("error_SlowDown"), 5);
  EXPECT_GE(Stat("error_InternalError"), 3);
  // At least the put-only faults of the steps before the scrape; libcurl resends some
  // requests on dropped connections by itself, and the last faults may come after it.
  EXPECT_GE(retries("throttled"), 3) << scrape.body;
  EXPECT_GE(retries("server_error"), 3) << scrape.body;
  EXPECT_GE(retries("transport"), 1) << scrape.body;
  EXPECT_LE(retries("throttled"), Stat("error_SlowDown")) << scrape.body;
  EXPECT_LE(retries("server_error"), Stat("error_InternalError")) << scrape.body;
  EXPECT_GE(Stat("error_PreconditionFailed"), 1);
  std::string agent_log = ReadFile(log);
  EXPECT_THAT(agent_log, HasSubstr("retrying in"));
  // Hundreds of signed requests, retries and errors: the secret is in no log line and no
  // metric (the access key may be named; the secret never).
  EXPECT_THAT(agent_log, Not(HasSubstr(kFakeSecret)));
  EXPECT_THAT(scrape.body, Not(HasSubstr(kFakeSecret)));
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

TEST_F(AgentS3Test, PermanentErrorStopsCleanlyWithoutAcknowledging) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  std::vector<WorkloadStep> steps = CrmWorkload();
  std::string log = work_ + "/agent.log";
  std::vector<std::string> args = {
      "--source",       pg_->ConnInfo("crm"), "--create", "--object-store", S3Url(), "--work-dir",
      work_ + "/agent", "--segment-max-ms",   "50"};
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent(args, log));
  ASSERT_OK(WaitForS3Base(*agent, log));
  ASSERT_OK(pg_->Psql("crm", steps[0].sql).status());
  ASSERT_OK_AND_ASSIGN(Lsn first, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", first, absl::Seconds(60)), IsOk())
      << ReadFile(log);

  // From now on uploads are checked against a secret the agent does not have: 403.
  ASSERT_NO_FATAL_FAILURE(Control("/_expect_other_secret?ops=put,create,part,complete"));
  ASSERT_OK_AND_ASSIGN(Lsn confirmed_before, SlotConfirmed(*pg_, "crm", "walship"));
  Lsn stored_before = MaxEndOf(S3Keys());
  ASSERT_OK_AND_ASSIGN(Lsn before, CurrentLsn(*pg_, "crm"));
  ASSERT_OK(pg_->Psql("crm", steps[1].sql).status());
  ASSERT_OK_AND_ASSIGN(Lsn after, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult failed, agent->Wait(absl::Seconds(60)));
  std::string agent_log = ReadFile(log);
  EXPECT_NE(failed.exit_code, 0) << agent_log;
  EXPECT_THAT(agent_log, HasSubstr("denied"));
  EXPECT_THAT(agent_log, HasSubstr("AWS_SECRET_ACCESS_KEY"));
  // A permanent error is not retried: the fake answered the refused upload once (retried,
  // it would be seen up to eight times), counted by the fake, not read from our log.
  int refused_requests = Stat("error_SignatureDoesNotMatch");
  EXPECT_GE(refused_requests, 1);
  EXPECT_LE(refused_requests, 2) << agent_log;
  ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_LT(confirmed, after) << "the slot acknowledged a transaction S3 refused";
  EXPECT_LE(confirmed, std::max(confirmed_before, before));
  EXPECT_EQ(MaxEndOf(S3Keys()), stored_before);

  // A wrong secret from the start: a clear error, nothing acknowledged, no secret logged.
  ASSERT_NO_FATAL_FAILURE(Control("/_reset"));
  std::string wrong_log = work_ + "/agent_wrong.log";
  ASSERT_OK_AND_ASSIGN(auto wrong,
                       StartAgent(args, wrong_log, {{"AWS_SECRET_ACCESS_KEY", "a-wrong-secret"}}));
  ASSERT_OK_AND_ASSIGN(SubprocessResult refused, wrong->Wait(absl::Seconds(60)));
  std::string wrong_text = ReadFile(wrong_log);
  EXPECT_NE(refused.exit_code, 0) << wrong_text;
  EXPECT_THAT(wrong_text, HasSubstr("denied"));
  EXPECT_THAT(wrong_text, Not(HasSubstr("a-wrong-secret")));
  ASSERT_OK_AND_ASSIGN(Lsn still, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_EQ(still, confirmed);

  // Once the credentials are right the slot resends what was refused: nothing is lost.
  ASSERT_OK_AND_ASSIGN(agent, StartAgent(args, work_ + "/agent_again.log"));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk())
      << ReadFile(work_ + "/agent_again.log");
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  agent->Kill(SIGTERM);
  ASSERT_OK(agent->Wait(absl::Seconds(60)).status());
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

// The same invariants as InjectedFaultsAreRetriedAndTheSlotNeverPassesTheBucket, but
// against the real s3rver: tests/tools/fault_proxy sits between the agent and s3rver,
// forwards requests unchanged (SigV4 stays valid) and injects 500s, 503 SlowDown, stalls
// and connections dropped mid-upload. The bucket is listed, and the restore reads it,
// from s3rver directly, never through the proxy.
TEST_F(AgentS3Test, RetriesThroughAFaultProxyInFrontOfS3rver) {
  if (!StartS3rver()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "s3rver or node is not installed (WALSHIP_ALLOW_MISSING_PEERS=1)";
  }
  ASSERT_FALSE(endpoint_.empty());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  auto proxy_call = [&](const std::string& method, const std::string& path_and_query) {
    return ProxyCall(method, path_and_query);
  };
  auto proxy_stat = [&](const std::string& name) { return ProxyStat(name); };

  // The agent talks to the proxy; everything else in this test to s3rver (endpoint_).
  std::string agent_url = ProxiedS3Url();
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(
      auto agent, StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                              agent_url, "--work-dir", work_ + "/agent", "--segment-max-ms", "50"},
                             log));
  ASSERT_OK(WaitForS3Base(*agent, log));

  std::vector<Txn> txns;

  // The first steps run clean; then one kind of fault per step, on the uploads that carry
  // its changes (and any heartbeat among them).
  struct Fault {
    std::string query;
    int count;
  };
  const std::vector<Fault> faults = {
      {"/_fault?kind=500&count=3", 3},
      {"/_fault?kind=503&count=3", 3},
      {"/_fault?kind=stall&count=1&seconds=3", 1},
      {"/_fault?kind=drop&count=2", 2},
  };
  std::vector<WorkloadStep> steps = CrmWorkload();
  constexpr size_t kCleanSteps = 2;
  int injected = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i >= kCleanSteps) {
      const Fault& fault = faults[(i - kCleanSteps) % faults.size()];
      absl::StatusOr<sinks::s3::HttpResponse> queued = proxy_call("POST", fault.query);
      ASSERT_TRUE(queued.ok()) << queued.status();
      ASSERT_EQ(queued->status, 204) << fault.query;
      injected += fault.count;
    }
    ASSERT_NO_FATAL_FAILURE(RunStepWatchingTheSlot(steps[i], *agent, log, &txns));
  }
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk()) << ReadFile(log);
  ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, "end"));
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  // Every queued fault met an upload, and each kind was applied.
  EXPECT_EQ(proxy_stat("faults"), injected);
  EXPECT_GE(proxy_stat("fault_500"), 3);
  EXPECT_GE(proxy_stat("fault_503"), 3);
  EXPECT_GE(proxy_stat("fault_stall"), 1);
  EXPECT_GE(proxy_stat("fault_drop"), 2);
  EXPECT_GT(proxy_stat("forwarded"), 0);
  std::string agent_log = ReadFile(log);
  EXPECT_THAT(agent_log, HasSubstr("retrying in"));
  EXPECT_THAT(agent_log, HasSubstr("InternalError"));
  EXPECT_THAT(agent_log, HasSubstr("SlowDown"));
  // (s3rver's fixed secret equals its access key, so the secret-leak check lives in the
  // fake_s3 test above, where the two differ.)
  proxy_->Kill(SIGTERM);
  (void)proxy_->Wait(absl::Seconds(10));

  // Restored from s3rver directly, not through the proxy: nothing was lost.
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

// Back-pressure against a real server: every upload stalls for 10 s in the fault proxy,
// twice wal_sender_timeout (5 s here). The sink's queue fills and the loop stops reading,
// yet its status updates keep the connection: one walsender from start to end (sampled
// from pg_replication_slots), no replication timeout in the server's log, and the slot
// never past what the bucket holds. A SIGTERM given during a second stall ends the agent
// cleanly once the stalled segments are stored, with everything confirmed and restorable.
TEST_F(AgentS3Test, StalledUploadsNeverCostTheReplicationConnection) {
  if (!StartS3rver()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "s3rver or node is not installed (WALSHIP_ALLOW_MISSING_PEERS=1)";
  }
  ASSERT_FALSE(endpoint_.empty());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  ASSERT_OK(pg_->Psql("postgres", "ALTER SYSTEM SET wal_sender_timeout = '5s'; "
                                  "SELECT pg_reload_conf();")
                .status());
  ASSERT_OK(pg_->Psql("crm", "CREATE TABLE stall_probe (id int PRIMARY KEY, pad text)").status());
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent({"--source", pg_->ConnInfo("crm"), "--create",
                                               "--object-store", ProxiedS3Url(), "--work-dir",
                                               work_ + "/agent", "--segment-max-ms", "50"},
                                              log));
  ASSERT_OK(WaitForS3Base(*agent, log));

  // The walsender serving the slot, sampled while the agent runs.
  WalsenderSampler sampler(*pg_, "crm", "walship");

  std::vector<Txn> txns;
  // Many small transactions, each its own segment or nearly (50 ms group commit), so the
  // queue of stalled segments passes its bound (4) while the first upload waits.
  auto write_burst = [&](int first_id, int count) {
    for (int id = first_id; id < first_id + count; ++id) {
      Txn txn;
      ASSERT_OK_AND_ASSIGN(txn.before, CurrentLsn(*pg_, "crm"));
      ASSERT_OK(pg_->Psql("crm", absl::StrFormat("INSERT INTO stall_probe VALUES (%d, "
                                                 "repeat('x', 2000)); SELECT pg_sleep(0.06)",
                                                 id))
                    .status());
      ASSERT_OK_AND_ASSIGN(txn.after, CurrentLsn(*pg_, "crm"));
      txns.push_back(txn);
      ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, absl::StrCat("row ", id)));
    }
  };
  ASSERT_NO_FATAL_FAILURE(write_burst(1, 3));
  ASSERT_OK_AND_ASSIGN(Lsn clean, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", clean, absl::Seconds(60)), IsOk())
      << ReadFile(log);

  // 10 s in CI; tests/chaos/long_upload_stall.sh sets WALSHIP_STALL_SECONDS for minutes.
  int stall_seconds = 10;
  if (const char* env = std::getenv("WALSHIP_STALL_SECONDS")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &stall_seconds) && stall_seconds >= 1) << env;
  }
  ASSERT_OK_AND_ASSIGN(auto queued, ProxyCall("POST", absl::StrCat("/_fault?kind=stall&count=1&seconds=",
                                                                   stall_seconds)));
  ASSERT_EQ(queued.status, 204);
  absl::Time stall_began = absl::Now();
  ASSERT_NO_FATAL_FAILURE(write_burst(100, 24));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  // While it lasts, the slot never passes the bucket.
  absl::Time deadline = absl::Now() + absl::Seconds(90 + stall_seconds);
  for (;;) {
    ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, "stall"));
    ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
    if (confirmed >= end) break;
    ASSERT_TRUE(agent->Running()) << ReadFile(log);
    ASSERT_LT(absl::Now(), deadline) << ReadFile(log);
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(absl::Now() - stall_began, absl::Seconds(stall_seconds - 1))
      << "the stall never held the uploads";
  EXPECT_EQ(ProxyStat("fault_stall"), 1);
  std::string agent_log = ReadFile(log);
  EXPECT_THAT(agent_log, HasSubstr("pausing the stream")) << "the queue never reached its bound";
  EXPECT_THAT(agent_log, HasSubstr("status updates every"));

  // SIGTERM during a second stall: the agent stores what it holds, confirms it, and exits 0.
  ASSERT_OK_AND_ASSIGN(queued, ProxyCall("POST", "/_fault?kind=stall&count=1&seconds=8"));
  ASSERT_EQ(queued.status, 204);
  ASSERT_NO_FATAL_FAILURE(write_burst(200, 3));
  ASSERT_OK_AND_ASSIGN(Lsn last, CurrentLsn(*pg_, "crm"));
  absl::SleepFor(absl::Seconds(1));  // the stalled upload has begun
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);
  EXPECT_EQ(ProxyStat("fault_stall"), 2);
  ASSERT_OK_AND_ASSIGN(Lsn final_confirmed, SlotConfirmed(*pg_, "crm", "walship"));
  // The last transaction is confirmed (its stored segments were flushed before the end).
  EXPECT_GT(final_confirmed, txns.back().before) << "last written at " << last.ToString();
  ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, "after SIGTERM"));

  EXPECT_EQ(sampler.Stop().size(), 1u) << "the replication connection was replaced during a stall";
  EXPECT_THAT(pg_->ServerLog(), Not(HasSubstr("replication timeout")));
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

}  // namespace
}  // namespace walship::testing
