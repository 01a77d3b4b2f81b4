// The shipped agent's operations surface, end to end against a real PostgreSQL and the mock
// Kafka cluster process: /metrics scraped under a steady load (linted by `promtool check
// metrics`, lag and RPO small, counters equal to the transactions PostgreSQL committed, every
// metric the alert rules query present); heartbeat objects and `walship-replay status` on an
// idle database. A Kafka outage: agent_metrics_outage_test.cc; bad --metrics-listen values
// and JSON logs: agent_metrics_bad_input_test.cc.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/heartbeat.h"
#include "tests/integration/agent_metrics_fixture.h"
#include "tests/integration/harness.h"
#include "tests/testing/http_probe.h"
#include "tests/testing/kafka_mock.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kEventsPerTransaction = 2;

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

}  // namespace
}  // namespace walship::testing
