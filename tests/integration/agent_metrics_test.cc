// The shipped agent's operations surface, end to end against a real PostgreSQL and the mock
// Kafka cluster process: /metrics scraped under a steady load (linted by `promtool check
// metrics`, lag and RPO small, counters equal to the transactions PostgreSQL committed, every
// metric the alert rules query present); a Kafka outage seen in RPO, lag and /healthz and
// turned into a `promtool test rules` fixture for docker/alerts.yml from the real scrapes;
// heartbeat objects and `walship-replay status` on an idle database; bad --metrics-listen
// values; JSON log lines that never hold the source's password.
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/heartbeat.h"
#include "tests/integration/harness.h"
#include "tests/testing/http_probe.h"
#include "tests/testing/kafka_mock.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSchema[] =
    "CREATE TABLE ticks (id bigserial PRIMARY KEY, note text NOT NULL);"
    "CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);"
    "INSERT INTO counters VALUES (1, 0);";
// One load transaction: two row changes.
constexpr char kLoadTransaction[] =
    "BEGIN; INSERT INTO ticks (note) VALUES ('tick'); "
    "UPDATE counters SET n = n + 1 WHERE id = 1; COMMIT";
constexpr int kEventsPerTransaction = 2;

std::string Psql() {
  const char* dir = std::getenv("WALSHIP_PG_BINDIR");
  return dir != nullptr && *dir != '\0' ? absl::StrCat(dir, "/psql") : "psql";
}

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

Scrape ScrapeMetrics(int port) {
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

// The metric names the rules in docker/alerts.yml query (from their expr: lines).
std::set<std::string> AlertMetricNames() {
  std::set<std::string> names;
  std::string rules = ReadFile(absl::StrCat(WALSHIP_DOCKER_DIR, "/alerts.yml"));
  std::regex name_re("walship_[a-z0-9_]+");
  for (absl::string_view line : absl::StrSplit(rules, '\n')) {
    if (!absl::StrContains(line, "expr:")) continue;
    std::string text(line);
    for (std::sregex_iterator it(text.begin(), text.end(), name_re), end; it != end; ++it) {
      names.insert(it->str());
    }
  }
  return names;
}

// One annotation of one rule in docker/alerts.yml, as written there (without the quotes).
std::string AlertAnnotation(absl::string_view alert, absl::string_view key) {
  std::string rules = ReadFile(absl::StrCat(WALSHIP_DOCKER_DIR, "/alerts.yml"));
  size_t at = rules.find(absl::StrCat("- alert: ", alert, "\n"));
  EXPECT_NE(at, std::string::npos) << alert << " is not in alerts.yml";
  if (at == std::string::npos) return "";
  size_t next = rules.find("- alert: ", at + 1);
  std::string block = rules.substr(at, next == std::string::npos ? std::string::npos : next - at);
  std::smatch m;
  std::regex re(absl::StrCat("\n\\s+", key, ": \"(.*)\"\n"));
  EXPECT_TRUE(std::regex_search(block, m, re)) << key << " of " << alert;
  return m.size() > 1 ? m[1].str() : "";
}

// Prometheus's humanizeDuration template function for values of at least one second.
std::string HumanizeDuration(double v) {
  int64_t total = static_cast<int64_t>(v);
  int64_t days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60,
          seconds = total % 60;
  if (days != 0) return absl::StrFormat("%dd %dh %dm %ds", days, hours, minutes, seconds);
  if (hours != 0) return absl::StrFormat("%dh %dm %ds", hours, minutes, seconds);
  if (minutes != 0) return absl::StrFormat("%dm %ds", minutes, seconds);
  return absl::StrFormat("%.4gs", v);
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

std::vector<std::filesystem::path> HeartbeatObjects(const std::string& store) {
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
std::pair<uint64_t, uint64_t> CountFiles(const std::string& dir) {
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

// ---- 1. steady load -----------------------------------------------------------------------

TEST_F(AgentMetricsTest, SteadyLoadKeepsLagSmallAndCountsEveryTransaction) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  absl::Time started = absl::Now();
  int port = StartAgentAndWait(AgentArgs({"--kafka", kafka->bootstrap()}));
  ASSERT_GT(port, 0);
  ASSERT_OK_AND_ASSIGN(std::string rows_before, pg_->Query("crm", "SELECT count(*) FROM ticks"));

  Scrape before = ScrapeMetrics(port);
  EXPECT_EQ(before.Value("walship_agent_state{state=\"streaming\"}"), 1);
  EXPECT_EQ(before.Value("walship_agent_state{state=\"snapshotting\"}"), 0);
  EXPECT_GT(before.Value("walship_base_snapshot_last_success_timestamp_seconds"),
            absl::ToUnixSeconds(started) - 1);
  std::map<std::string, double> tx_before = before.BySink("walship_sink_transactions_total");
  std::map<std::string, double> ev_before = before.BySink("walship_sink_events_total");

  Load load(pg_->ConnInfo("crm"), absl::Milliseconds(20));
  std::vector<Scrape> during;
  absl::Time load_end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < load_end) {
    absl::SleepFor(absl::Seconds(2));
    during.push_back(ScrapeMetrics(port));
    const Scrape& s = during.back();
    SCOPED_TRACE(absl::StrCat("scrape ", during.size(), " under load"));
    EXPECT_LT(s.Value("walship_replication_lag_seconds"), 5) << s.text;
    EXPECT_LT(s.Value("walship_rpo_seconds"), 5) << s.text;
    EXPECT_LE(s.Value("walship_rpo_seconds"), s.Value("walship_replication_lag_seconds"));
    EXPECT_LT(s.Value("walship_replication_lag_bytes"), 16 << 20) << s.text;
    EXPECT_EQ(s.Value("walship_agent_state{state=\"streaming\"}"), 1);
  }
  int64_t committed = load.Stop();
  ASSERT_EQ(load.error(), "");
  ASSERT_GE(committed, 50) << "the load ran too few transactions to measure anything";
  ASSERT_GE(during.size(), 4u);
  // promtool lints a real scrape taken under load.
  SubprocessResult lint = PromtoolCheckMetrics(during[1].text);
  EXPECT_EQ(lint.exit_code, 0) << lint.stdout_text << lint.stderr_text << during[1].text;
  // The counters moved between scrapes while the load ran.
  for (const std::string& sink : {std::string("kafka"), StoreSinkName()}) {
    double first = during.front().BySink("walship_sink_transactions_total")[sink];
    double last = during.back().BySink("walship_sink_transactions_total")[sink];
    EXPECT_GT(last, first) << sink;
    double events_first = during.front().BySink("walship_sink_events_total")[sink];
    double events_last = during.back().BySink("walship_sink_events_total")[sink];
    EXPECT_GT(events_last, events_first) << sink;
  }

  // What PostgreSQL did: `committed` transactions, each one row inserted and one updated.
  ASSERT_OK_AND_ASSIGN(std::string rows_after, pg_->Query("crm", "SELECT count(*) FROM ticks"));
  int64_t rows0 = 0, rows1 = 0;
  ASSERT_TRUE(absl::SimpleAtoi(rows_before, &rows0) && absl::SimpleAtoi(rows_after, &rows1));
  ASSERT_EQ(rows1 - rows0, committed);
  ASSERT_OK_AND_ASSIGN(std::string counter, pg_->Query("crm", "SELECT n FROM counters"));
  ASSERT_EQ(counter, absl::StrCat(committed));
  CatchUp();

  Scrape after = ScrapeUntil(port, absl::Seconds(30), [](const Scrape& s) {
    return s.samples.count("walship_rpo_seconds") > 0 && s.samples.at("walship_rpo_seconds") == 0;
  });
  EXPECT_EQ(after.Value("walship_rpo_seconds"), 0) << after.text;
  EXPECT_EQ(after.Value("walship_replication_lag_seconds"), 0) << after.text;
  EXPECT_LT(after.Value("walship_replication_lag_bytes"), 1 << 20) << after.text;
  ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_GE(after.Value("walship_acknowledged_lsn"), static_cast<double>(confirmed.value()));
  std::map<std::string, double> tx_after = after.BySink("walship_sink_transactions_total");
  std::map<std::string, double> ev_after = after.BySink("walship_sink_events_total");
  for (const std::string& sink : {std::string("kafka"), StoreSinkName()}) {
    SCOPED_TRACE(sink);
    EXPECT_EQ(tx_after[sink] - tx_before[sink], static_cast<double>(committed)) << after.text;
    EXPECT_EQ(ev_after[sink] - ev_before[sink],
              static_cast<double>(committed * kEventsPerTransaction))
        << after.text;
    EXPECT_GT(after.BySink("walship_sink_durable_lsn")[sink], 0);
  }
  EXPECT_TRUE(after.samples.count("walship_slot_retained_wal_bytes")) << after.text;
  EXPECT_EQ(HttpGet(port, "/healthz").code, 200);

  lint = PromtoolCheckMetrics(after.text);
  EXPECT_EQ(lint.exit_code, 0) << lint.stdout_text << lint.stderr_text << after.text;
  // Every metric the alert rules query is one the running agent exports.
  std::set<std::string> alert_names = AlertMetricNames();
  EXPECT_GE(alert_names.size(), 5u);
  for (const std::string& name : alert_names) {
    EXPECT_TRUE(after.families.count(name)) << name << " (used in docker/alerts.yml) is not in "
                                            << "a scrape of the running agent:\n"
                                            << after.text;
  }

  // While idle (before the load), the agent wrote its heartbeat object: one a minute, plus
  // at most one every 10 s that vouches for idle positions before they are confirmed.
  absl::Duration ran = absl::Now() - started;
  std::vector<std::filesystem::path> beats = HeartbeatObjects(store_);
  EXPECT_GE(beats.size(), 1u);
  if (ran < absl::Seconds(55)) {
    EXPECT_LE(beats.size(), 1u + static_cast<size_t>(ran / absl::Seconds(10)) + 1)
        << "ran for " << ran;
  }
  StopAgent();
}

// ---- 2. a stalled sink ------------------------------------------------------------------

TEST_F(AgentMetricsTest, KafkaOutageGrowsRpoTurnsHealthzAndFiresTheRpoAlert) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  // Deliveries queued during the outage must outlive it.
  int port = StartAgentAndWait(
      AgentArgs({"--kafka", kafka->bootstrap(), "--kafka-config", "message.timeout.ms=900000"}));
  ASSERT_GT(port, 0);
  Load load(pg_->ConnInfo("crm"), absl::Milliseconds(200));
  absl::SleepFor(absl::Seconds(3));
  Scrape healthy = ScrapeMetrics(port);
  EXPECT_LT(healthy.Value("walship_rpo_seconds"), 5) << healthy.text;
  EXPECT_EQ(HttpGet(port, "/healthz").code, 200);

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka->Command(absl::StrCat("down ", id)));
    ASSERT_EQ(rc, 0);
  }
  // Scrapes every 15 s, as Prometheus would, until the RPO has been above the alert's 60 s
  // for longer than its `for: 2m` (ten samples). The first is taken as the brokers go down.
  constexpr absl::Duration kStep = absl::Seconds(15);
  constexpr int kAboveNeeded = 10;
  const absl::Time down_at = absl::Now();
  std::vector<double> rpo, lag_seconds, lag_bytes;
  std::vector<int> health_codes;
  int above = 0, first_above = -1;
  for (int k = 0; above < kAboveNeeded; ++k) {
    ASSERT_LT(k, 17) << "RPO did not stay above 60 s during the outage: " << absl::StrJoin(rpo, " ")
                     << "\n"
                     << ReadFile(log_);
    absl::Time at = down_at + kStep * k;
    if (absl::Now() < at) absl::SleepFor(at - absl::Now());
    const double outage_age = absl::ToDoubleSeconds(absl::Now() - down_at);
    Scrape s = ScrapeMetrics(port);
    HttpReply health = HttpGet(port, "/healthz");
    rpo.push_back(s.Value("walship_rpo_seconds"));
    lag_seconds.push_back(s.Value("walship_replication_lag_seconds"));
    lag_bytes.push_back(s.Value("walship_replication_lag_bytes"));
    health_codes.push_back(health.code);
    SCOPED_TRACE(absl::StrFormat("outage sample %d (%.0f s): rpo %.3f lag %.3f s %.0f B, %d %s", k,
                                 absl::ToDoubleSeconds(kStep * k), rpo.back(), lag_seconds.back(),
                                 lag_bytes.back(), health.code, health.body));
    ASSERT_TRUE(agent_->Running()) << ReadFile(log_);
    // The oldest undelivered commit came right after the brokers went down: RPO follows the
    // outage's age, and lag (from the newest durable commit) is never below it.
    if (k >= 1) {
      EXPECT_NEAR(rpo[k], outage_age, 5.0);
      EXPECT_GT(rpo[k], rpo[k - 1]);
      EXPECT_GT(lag_seconds[k], lag_seconds[k - 1]);
      EXPECT_GE(lag_seconds[k] + 1e-6, rpo[k]);
      EXPECT_GT(lag_bytes[k], 0);
    }
    EXPECT_EQ(s.Value("walship_agent_state{state=\"streaming\"}"), 1);
    if (k == 1 && outage_age < 45) {
      EXPECT_EQ(health.code, 200) << "stalled for 15 s, below the 60 s threshold";
    }
    if (outage_age > 75) {  // past the 60 s stall threshold
      EXPECT_EQ(health.code, 503);
      EXPECT_THAT(health.body, HasSubstr("sink \"kafka\" stalled"));
    }
    if (rpo[k] > 60) {
      if (first_above < 0) first_above = k;
      ++above;
    } else {
      above = 0;
      first_above = -1;
    }
  }
  EXPECT_GT(lag_bytes.back(), lag_bytes[1]) << "WAL written during the outage is not acknowledged";
  const int stall_samples = static_cast<int>(rpo.size());

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka->Command(absl::StrCat("up ", id)));
    ASSERT_EQ(rc, 0);
  }
  // Same 15 s cadence after the brokers return, until three samples show the RPO back near 0
  // and /healthz 200 again.
  int recovered = 0;
  for (int k = stall_samples; recovered < 3; ++k) {
    ASSERT_LT(k, stall_samples + 10) << "no recovery: rpo " << absl::StrJoin(rpo, " ") << "\n"
                                     << ReadFile(log_);
    absl::Time at = down_at + kStep * k;
    if (absl::Now() < at) absl::SleepFor(at - absl::Now());
    Scrape s = ScrapeMetrics(port);
    HttpReply health = HttpGet(port, "/healthz");
    rpo.push_back(s.Value("walship_rpo_seconds"));
    lag_seconds.push_back(s.Value("walship_replication_lag_seconds"));
    health_codes.push_back(health.code);
    bool back = rpo.back() < 5 && lag_seconds.back() < 5 && health.code == 200;
    recovered = back ? recovered + 1 : 0;
  }
  int64_t committed = load.Stop();
  ASSERT_EQ(load.error(), "");
  ASSERT_GT(committed, 0);
  CatchUp();
  Scrape after = ScrapeUntil(port, absl::Seconds(30), [](const Scrape& s) {
    return s.samples.count("walship_rpo_seconds") > 0 && s.samples.at("walship_rpo_seconds") == 0;
  });
  EXPECT_EQ(after.Value("walship_rpo_seconds"), 0) << after.text;
  EXPECT_EQ(after.Value("walship_replication_lag_seconds"), 0) << after.text;
  EXPECT_EQ(HttpGet(port, "/healthz").code, 200);

  // The scraped RPO samples, 15 s apart, as the input of WalshipRpoAboveTarget from
  // docker/alerts.yml: pending when it first crossed 60 s, firing after `for: 2m`, quiet on
  // the recovered samples.
  std::vector<std::string> values;
  for (double v : rpo) values.push_back(absl::StrFormat("%.3f", v));
  double firing_value = 0;
  ASSERT_TRUE(absl::SimpleAtod(values[stall_samples - 1], &firing_value));
  std::string summary =
      absl::StrReplaceAll(AlertAnnotation("WalshipRpoAboveTarget", "summary"),
                          {{"{{ $value | humanizeDuration }}", HumanizeDuration(firing_value)}});
  std::string description = AlertAnnotation("WalshipRpoAboveTarget", "description");
  std::string instance = absl::StrCat("127.0.0.1:", port);
  std::string fixture = absl::StrFormat(
      R"(# Built by agent_metrics_test from real scrapes of walship-agent during a Kafka outage.
rule_files:
  - %s/alerts.yml
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'walship_rpo_seconds{job="walship",instance="%s"}'
        values: '%s'
    alert_rule_test:
      - eval_time: %ds
        alertname: WalshipRpoAboveTarget
        exp_alerts: []
      - eval_time: %ds
        alertname: WalshipRpoAboveTarget
        exp_alerts:
          - exp_labels: {severity: critical, job: walship, instance: "%s"}
            exp_annotations:
              summary: "%s"
              description: "%s"
      - eval_time: %ds
        alertname: WalshipRpoAboveTarget
        exp_alerts: []
)",
      WALSHIP_DOCKER_DIR, instance, absl::StrJoin(values, " "), first_above * 15,
      (stall_samples - 1) * 15, instance, summary, description,
      (static_cast<int>(rpo.size()) - 1) * 15);
  std::printf("walship_rpo_seconds scraped 15 s apart (outage, then recovery): %s\n",
              absl::StrJoin(values, " ").c_str());
  std::string fixture_path = work_ + "/rpo_outage_test.yml";
  std::ofstream(fixture_path) << fixture;
  ASSERT_OK_AND_ASSIGN(SubprocessResult rules,
                       Subprocess::Run({PromtoolPath(), "test", "rules", fixture_path}));
  EXPECT_EQ(rules.exit_code, 0) << rules.stdout_text << rules.stderr_text << fixture;
  StopAgent();
}

// ---- 3. heartbeat objects and `walship-replay status` -----------------------------------

TEST_F(AgentMetricsTest, IdleAgentWritesHeartbeatsThatStatusShows) {
  int port = StartAgentAndWait(AgentArgs({"--idle-report-seconds", "1"}));
  ASSERT_GT(port, 0);
  ASSERT_OK(pg_->Psql("crm", absl::StrCat(kLoadTransaction, "; ", kLoadTransaction)).status());
  CatchUp();
  ASSERT_OK_AND_ASSIGN(Lsn durable, SlotConfirmed(*pg_, "crm", "walship"));

  // Idle now: a heartbeat object a second, the newest three kept.
  absl::SleepFor(absl::Seconds(5));
  std::vector<std::filesystem::path> first = HeartbeatObjects(store_);
  ASSERT_GE(first.size(), 2u) << ReadFile(log_);
  EXPECT_LE(first.size(), 3u);
  absl::SleepFor(absl::Seconds(4));
  std::vector<std::filesystem::path> later = HeartbeatObjects(store_);
  ASSERT_GE(later.size(), 2u);
  EXPECT_LE(later.size(), 3u);
  EXPECT_GT(later.back().filename(), first.back().filename()) << "no new heartbeat while idle";
  EXPECT_EQ(std::count(later.begin(), later.end(), first.front()), 0)
      << "the oldest heartbeat object was not removed";

  std::optional<absl::Time> key_time =
      sinks::ParseHeartbeatKey(std::filesystem::relative(later.back(), store_).string());
  ASSERT_TRUE(key_time.has_value()) << later.back();
  EXPECT_LT(absl::AbsDuration(absl::Now() - *key_time), absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(sinks::Heartbeat beat,
                       sinks::DecodeHeartbeat(ReadFile(later.back().string())));
  EXPECT_GE(beat.acknowledged, durable);
  EXPECT_GE(beat.server_wal, beat.acknowledged);
  Scrape scrape = ScrapeMetrics(port);
  EXPECT_GE(scrape.Value("walship_heartbeat_timestamp_seconds"),
            static_cast<double>(absl::ToUnixSeconds(*key_time)));
  EXPECT_EQ(HttpGet(port, "/healthz").code, 200);
  StopAgent();

  ASSERT_OK_AND_ASSIGN(SubprocessResult status,
                       RunReplay({"status", "--object-store", "file://" + store_}));
  ASSERT_EQ(status.exit_code, 0) << status.stderr_text;
  const std::string& out = status.stdout_text;
  auto [objects, bytes] = CountFiles(store_);
  EXPECT_THAT(out, HasSubstr(absl::StrFormat("%d objects, %d bytes", objects, bytes))) << out;
  ASSERT_OK_AND_ASSIGN(sinks::Heartbeat newest,
                       sinks::DecodeHeartbeat(ReadFile(HeartbeatObjects(store_).back().string())));
  EXPECT_THAT(
      out, HasSubstr(absl::StrCat("  last heartbeat: ",
                                  absl::FormatTime("%Y-%m-%d", newest.time, absl::UTCTimeZone()))))
      << out;
  EXPECT_THAT(out, HasSubstr(absl::StrCat("acknowledged ", newest.acknowledged.ToString()))) << out;
  EXPECT_THAT(out, HasSubstr("  last durable:   ")) << out;
  EXPECT_THAT(out, Not(HasSubstr("no change segments yet"))) << out;
  EXPECT_THAT(out, HasSubstr(absl::StrCat(" .. ", MaxStoredEnd(store_).ToString()))) << out;
  EXPECT_THAT(out, HasSubstr("  window:         ")) << out;
  EXPECT_THAT(out, HasSubstr("  base snapshot:  ")) << out;
  EXPECT_THAT(out, HasSubstr("2 tables")) << out;
  EXPECT_THAT(out, HasSubstr(" ago)")) << out;
  EXPECT_THAT(out, Not(HasSubstr("WARNING"))) << out;
}

// ---- 4. bad --metrics-listen ------------------------------------------------------------

class AgentMetricsBadInputTest : public AgentMetricsTest {
 protected:
  void ExpectNothingCreated() {
    ASSERT_OK_AND_ASSIGN(std::string slots,
                         pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
    EXPECT_EQ(slots, "0");
    ASSERT_OK_AND_ASSIGN(std::string pubs,
                         pg_->Query("crm", "SELECT count(*) FROM pg_publication"));
    EXPECT_EQ(pubs, "0");
    EXPECT_EQ(CountFiles(store_).first, 0u);
  }
};

TEST_F(AgentMetricsBadInputTest, PortInUseExitsOneAndCreatesNoSlot) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);

  std::vector<std::string> args = AgentArgs();
  args.back() = absl::StrCat("127.0.0.1:", port);
  ASSERT_OK_AND_ASSIGN(SubprocessResult r, RunAgent(args, absl::Seconds(60)));
  close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr(absl::StrFormat(
                                 "metrics listen address 127.0.0.1:%d is already in use", port)));
  EXPECT_THAT(r.stderr_text, HasSubstr("--metrics-listen"));
  ExpectNothingCreated();
}

TEST_F(AgentMetricsBadInputTest, MalformedListenAddressIsAClearError) {
  for (const char* bad : {"nonsense", "127.0.0.1:99999", "300.1.1.1:9187", "::1:9187"}) {
    SCOPED_TRACE(bad);
    std::vector<std::string> args = AgentArgs();
    args.back() = bad;
    ASSERT_OK_AND_ASSIGN(SubprocessResult r, RunAgent(args, absl::Seconds(60)));
    EXPECT_NE(r.exit_code, 0) << r.stderr_text;
    EXPECT_NE(r.exit_code, -1) << "killed by a signal";
    EXPECT_THAT(r.stderr_text, HasSubstr(absl::StrFormat("invalid --metrics-listen \"%s\"", bad)));
    EXPECT_THAT(r.stderr_text, HasSubstr("expected ADDR:PORT"));
  }
  ExpectNothingCreated();
}

// ---- 5. JSON logs without secrets --------------------------------------------------------

// Every line of `log` is one JSON object with time, level, component and message (checked by
// Python's json module); returns how many lines there were, -1 when one was not.
int JsonLines(const std::string& log_path) {
  absl::StatusOr<SubprocessResult> r =
      Subprocess::Run({"python3", "-c",
                       "import json, sys\n"
                       "n = 0\n"
                       "for line in open(sys.argv[1], encoding='utf-8'):\n"
                       "    o = json.loads(line)\n"
                       "    assert isinstance(o, dict), line\n"
                       "    assert {'time', 'level', 'component', 'message'} <= set(o), line\n"
                       "    assert o['level'] in ('debug', 'info', 'warning', 'error'), line\n"
                       "    n += 1\n"
                       "print(n)\n",
                       log_path});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return -1;
  EXPECT_EQ(r->exit_code, 0) << r->stderr_text << ReadFile(log_path);
  int n = -1;
  if (r->exit_code == 0) {
    EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r->stdout_text), &n)) << r->stdout_text;
  }
  return n;
}

TEST_F(AgentMetricsTest, JsonLogsAreOneObjectPerLineAndNeverHoldThePassword) {
  constexpr char kPassword[] = "Qz7-walship-S3cret-pw";
  constexpr char kWrongPassword[] = "Wr0ng-walship-pw-X9";
  ASSERT_OK(pg_->Psql("crm", absl::StrFormat("CREATE ROLE shipper LOGIN SUPERUSER REPLICATION "
                                             "PASSWORD '%s'",
                                             kPassword))
                .status());
  // The role must give its password, on normal and replication connections alike.
  std::string hba_path = pg_->DataDir() + "/pg_hba.conf";
  std::string hba = ReadFile(hba_path);
  std::ofstream(hba_path) << "local all shipper scram-sha-256\n"
                          << "local replication shipper scram-sha-256\n"
                          << hba;
  ASSERT_OK(pg_->Query("postgres", "SELECT pg_reload_conf()").status());
  std::string conninfo =
      absl::StrFormat("host=%s port=%d user=shipper dbname=crm", pg_->host(), pg_->port());
  SubprocessOptions no_password;
  no_password.unset_env = {"PGPASSWORD", "PGPASSFILE"};
  ASSERT_OK_AND_ASSIGN(SubprocessResult denied,
                       Subprocess::Run({Psql(), "-X", "-w", conninfo, "-c", "SELECT 1"},
                                       absl::Seconds(30), no_password));
  ASSERT_NE(denied.exit_code, 0) << "the role connects without a password";

  auto run = [&](const std::string& source, std::map<std::string, std::string> env,
                 const std::string& log_path, Lsn until) -> SubprocessResult {
    std::vector<std::string> argv = {AgentPath(),
                                     "--source",
                                     source,
                                     "--create",
                                     "--object-store",
                                     "file://" + store_,
                                     "--work-dir",
                                     work_,
                                     "--segment-max-ms",
                                     "50",
                                     "--log-format",
                                     "json",
                                     "--metrics-listen",
                                     "127.0.0.1:0"};
    if (until.valid()) {
      argv.push_back("--until-lsn");
      argv.push_back(until.ToString());
    }
    SubprocessOptions options = no_password;
    options.env = std::move(env);
    options.stdout_mode = StreamMode::kFile;
    options.stdout_path = log_path;
    options.stderr_mode = StreamMode::kFile;
    options.stderr_path = log_path;
    absl::StatusOr<SubprocessResult> r = Subprocess::Run(argv, absl::Seconds(120), options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SubprocessResult{};
  };

  // 1. The password in the conninfo: warned about, used, never printed. The agent creates
  // the slot, ships one transaction and stops on SIGTERM.
  std::string log1 = work_ + "/json1.log";
  {
    std::vector<std::string> argv = {"--source",
                                     conninfo + " password=" + kPassword,
                                     "--create",
                                     "--object-store",
                                     "file://" + store_,
                                     "--work-dir",
                                     work_,
                                     "--segment-max-ms",
                                     "50",
                                     "--log-format",
                                     "json",
                                     "--metrics-listen",
                                     "127.0.0.1:0"};
    auto agent = StartAgent(argv, log1);
    ASSERT_OK(agent.status());
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!absl::StrContains(ReadFile(log1), "streaming from slot")) {
      ASSERT_LT(absl::Now(), deadline) << ReadFile(log1);
      ASSERT_TRUE((*agent)->Running()) << ReadFile(log1);
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_OK(pg_->Psql("crm", kLoadTransaction).status());
    CatchUp();
    (*agent)->Kill(SIGTERM);
    ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, (*agent)->Wait(absl::Seconds(60)));
    EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log1);
  }
  std::string text1 = ReadFile(log1);
  EXPECT_GE(JsonLines(log1), 3);
  EXPECT_THAT(text1, Not(HasSubstr(kPassword)));
  EXPECT_THAT(text1, HasSubstr("--source holds a password"));
  EXPECT_THAT(text1, HasSubstr("\"level\":\"warning\""));

  // 2. The password from PGPASSWORD: the agent resumes the slot and stops at --until-lsn.
  ASSERT_OK(pg_->Psql("crm", kLoadTransaction).status());
  ASSERT_OK_AND_ASSIGN(Lsn until, CurrentLsn(*pg_, "crm"));
  std::string log2 = work_ + "/json2.log";
  SubprocessResult second = run(conninfo, {{"PGPASSWORD", kPassword}}, log2, until);
  EXPECT_EQ(second.exit_code, 0) << ReadFile(log2);
  std::string text2 = ReadFile(log2);
  EXPECT_GE(JsonLines(log2), 2);
  EXPECT_THAT(text2, Not(HasSubstr(kPassword)));
  EXPECT_THAT(text2, HasSubstr("reached --until-lsn"));

  // 3. A wrong password: the error says authentication failed and repeats no password.
  std::string log3 = work_ + "/json3.log";
  SubprocessResult third = run(conninfo + " password=" + kWrongPassword, {}, log3, Lsn());
  EXPECT_EQ(third.exit_code, 1) << ReadFile(log3);
  std::string text3 = ReadFile(log3);
  EXPECT_GE(JsonLines(log3), 1);
  EXPECT_THAT(text3, HasSubstr("password authentication failed"));
  EXPECT_THAT(text3, HasSubstr("\"level\":\"error\""));
  EXPECT_THAT(text3, Not(HasSubstr(kWrongPassword)));
  EXPECT_THAT(text3, Not(HasSubstr(kPassword)));
}

}  // namespace
}  // namespace walship::testing
