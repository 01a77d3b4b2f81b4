// The fixture of the agent's operations-surface tests: PostgreSQL with a two-table schema,
// the shipped agent with --metrics-listen, a scrape of /metrics parsed by sample, a load
// that commits transactions on its own connection, and the heartbeat objects in the store.
#ifndef WALSHIP_TESTS_INTEGRATION_AGENT_METRICS_FIXTURE_H_
#define WALSHIP_TESTS_INTEGRATION_AGENT_METRICS_FIXTURE_H_

#include <libpq-fe.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/http_probe.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {

inline constexpr char kSchema[] =
    "CREATE TABLE ticks (id bigserial PRIMARY KEY, note text NOT NULL);"
    "CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);"
    "INSERT INTO counters VALUES (1, 0);";
// One load transaction: two row changes.
inline constexpr char kLoadTransaction[] =
    "BEGIN; INSERT INTO ticks (note) VALUES ('tick'); "
    "UPDATE counters SET n = n + 1 WHERE id = 1; COMMIT";

// ---- HTTP and the exposition ----------------------------------------------------------

// One scrape of /metrics: its text, every sample by "name{labels}", and the family names.
struct Scrape {
  std::string text;
  std::map<std::string, double> samples;
  std::set<std::string> families;

  // The sample's value; NaN (and a test failure) when the scrape lacks it.
  double Value(const std::string& series) const {
    auto it = samples.find(series);
    if (it == samples.end()) {
      ADD_FAILURE() << "no sample " << series << " in the scrape:\n" << text;
      return std::nan("");
    }
    return it->second;
  }
  // `name{sink="X"}` values keyed by X.
  std::map<std::string, double> BySink(const std::string& name) const {
    std::map<std::string, double> out;
    std::string prefix = name + "{sink=\"";
    for (const auto& [series, value] : samples) {
      if (!absl::StartsWith(series, prefix) || !absl::EndsWith(series, "\"}")) continue;
      out[series.substr(prefix.size(), series.size() - prefix.size() - 2)] = value;
    }
    return out;
  }
};

inline Scrape ScrapeMetrics(int port) {
  Scrape scrape;
  HttpReply reply = HttpGet(port, "/metrics");
  EXPECT_EQ(reply.code, 200) << reply.body;
  scrape.text = reply.body + "\n";
  for (absl::string_view line : absl::StrSplit(reply.body, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() >= 3) scrape.families.insert(parts[2]);
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;
    size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtod(line.substr(space + 1), &value)) {
      ADD_FAILURE() << "unparsable sample line: " << line;
      continue;
    }
    scrape.samples[std::string(line.substr(0, space))] = value;
  }
  return scrape;
}

// ---- the database load ----------------------------------------------------------------

// Runs kLoadTransaction in a loop on its own thread and connection until stopped.
class Load {
 public:
  Load(std::string conninfo, absl::Duration pause)
      : conninfo_(std::move(conninfo)), pause_(pause), thread_([this] { Run(); }) {}
  ~Load() { Stop(); }

  // Stops and returns how many transactions committed.
  int64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return committed_;
  }
  int64_t committed() const { return committed_; }
  // Why the load stopped early; read after Stop().
  const std::string& error() const { return error_; }

 private:
  void Run() {
    PGconn* conn = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      error_ = PQerrorMessage(conn);
      PQfinish(conn);
      return;
    }
    while (!stop_) {
      PGresult* result = PQexec(conn, kLoadTransaction);
      bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
      PQclear(result);
      if (!ok) {
        error_ = PQerrorMessage(conn);
        break;
      }
      ++committed_;
      absl::SleepFor(pause_);
    }
    PQfinish(conn);
  }

  const std::string conninfo_;
  const absl::Duration pause_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> committed_{0};
  std::string error_;
  std::thread thread_;
};

// ---- files in the store ---------------------------------------------------------------

inline std::vector<std::filesystem::path> HeartbeatObjects(const std::string& store) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(store)) {
    if (entry.is_regular_file() && entry.path().parent_path().filename() == "heartbeat" &&
        entry.path().extension() == ".hb") {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Regular files and their total size under `dir`, ignoring none.
inline std::pair<uint64_t, uint64_t> CountFiles(const std::string& dir) {
  uint64_t count = 0, bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++count;
    bytes += entry.file_size();
  }
  return {count, bytes};
}

// ---- the fixture ------------------------------------------------------------------------

class AgentMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", kSchema).status());
    store_ = MakeTempDir("mstore");
    work_ = MakeTempDir("mwork");
    log_ = work_ + "/agent.log";
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(store_);
      std::filesystem::remove_all(work_);
    }
  }

  std::vector<std::string> AgentArgs(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--source",
                                     pg_->ConnInfo("crm"),
                                     "--create",
                                     "--object-store",
                                     "file://" + store_,
                                     "--work-dir",
                                     work_,
                                     "--segment-max-ms",
                                     "50",
                                     "--metrics-listen",
                                     "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Starts the agent, reads its metrics port from its log and waits until /healthz says it
  // streams (the first base snapshot is done). Returns the port, or 0 after a failure.
  int StartAgentAndWait(const std::vector<std::string>& args) {
    auto agent = StartAgent(args, log_);
    EXPECT_OK(agent.status());
    if (!agent.ok()) return 0;
    agent_ = *std::move(agent);
    absl::StatusOr<int> found = WaitForMetricsPort(log_, *agent_);
    EXPECT_OK(found.status());
    if (!found.ok()) return 0;
    int port = *found;
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (true) {
      HttpReply health = HttpGet(port, "/healthz");
      if (health.code == 200) return port;
      if (absl::Now() > deadline || !agent_->Running()) {
        ADD_FAILURE() << "/healthz never answered 200 (last: " << health.code << " " << health.body
                      << "): " << ReadFile(log_);
        return 0;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  void CatchUp() {
    ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
    ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(120)), IsOk())
        << ReadFile(log_);
  }

  void StopAgent() {
    ASSERT_NE(agent_, nullptr);
    agent_->Kill(SIGTERM);
    ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent_->Wait(absl::Seconds(90)));
    EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log_);
    agent_.reset();
  }

  // Polls /metrics until `done` holds for a scrape (at most `timeout`); returns the last.
  template <typename Pred>
  Scrape ScrapeUntil(int port, absl::Duration timeout, Pred done) {
    absl::Time deadline = absl::Now() + timeout;
    while (true) {
      Scrape scrape = ScrapeMetrics(port);
      if (done(scrape) || absl::Now() > deadline) return scrape;
      absl::SleepFor(absl::Milliseconds(250));
    }
  }

  std::string StoreSinkName() const { return "file://" + store_; }

  std::unique_ptr<PgCluster> pg_;
  std::unique_ptr<Subprocess> agent_;
  std::string store_;
  std::string work_;
  std::string log_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_INTEGRATION_AGENT_METRICS_FIXTURE_H_
