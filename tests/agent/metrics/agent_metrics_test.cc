// AgentMetrics: exported values, lag and RPO arithmetic on the server's clock, and the
// health snapshot, driven by a fake agent clock.
#include "agent/metrics/agent_metrics.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "tests/testing/fake_clock.h"

namespace walship::agent {
namespace {

using ::testing::ElementsAreArray;

// The agent's and the server's clocks differ by an hour: lag must not see it.
const absl::Time kLocal0 = absl::FromUnixSeconds(1'700'000'000);
const absl::Time kServer0 = kLocal0 + absl::Hours(1);

class AgentMetricsTest : public ::testing::Test {
 protected:
  AgentMetricsTest() : metrics_(registry_, "9.9.9", clock_) {}

  // The value of one exported sample, e.g. Sample("walship_sink_events_total{sink=\"a\"}").
  double Sample(const std::string& series) {
    std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StartsWith(line, absl::StrCat(series, " "))) {
        double value = 0;
        EXPECT_TRUE(absl::SimpleAtod(line.substr(series.size() + 1), &value)) << line;
        return value;
      }
    }
    ADD_FAILURE() << "no sample " << series << " in:\n" << text;
    return -1;
  }

  ::walship::testing::FakeClock clock_{kLocal0};
  prometheus::Registry registry_;
  AgentMetrics metrics_;
};

TEST_F(AgentMetricsTest, LagBytesIsServerWalEndMinusAcknowledged) {
  metrics_.OnServerMessage(Lsn(0x5000), Lsn(0x9000), kServer0);
  metrics_.OnAcknowledged(Lsn(0x4000));
  EXPECT_EQ(metrics_.Compute().lag_bytes, 0x5000u);
  EXPECT_EQ(Sample("walship_replication_lag_bytes"), 0x5000);
  EXPECT_EQ(Sample("walship_server_wal_lsn"), 0x9000);
  EXPECT_EQ(Sample("walship_received_lsn"), 0x5000);
  EXPECT_EQ(Sample("walship_acknowledged_lsn"), 0x4000);
}

TEST_F(AgentMetricsTest, NothingPendingMeansZeroLagSecondsAndRpo) {
  metrics_.OnServerMessage(Lsn(0x5000), Lsn(0x5000), kServer0);
  clock_.Advance(absl::Hours(2));
  metrics_.Refresh();
  EXPECT_EQ(Sample("walship_replication_lag_seconds"), 0);
  EXPECT_EQ(Sample("walship_rpo_seconds"), 0);
}

TEST_F(AgentMetricsTest, PendingTransactionGivesRpoAndLagOnServerClock) {
  metrics_.OnServerMessage(Lsn(0x1000), Lsn(0x1000), kServer0);  // idle, caught up
  metrics_.OnHandedOff("file", Lsn(0x2000), kServer0 + absl::Seconds(1), 10, 1000);
  metrics_.OnHandedOff("kafka", Lsn(0x2000), kServer0 + absl::Seconds(1), 10, 1200);
  metrics_.OnServerMessage(Lsn(0x2000), Lsn(0x2000), kServer0 + absl::Seconds(2));
  clock_.Advance(absl::Seconds(3));  // the agent's clock moves on; no new server message
  AgentMetrics::Values v = metrics_.Compute();
  EXPECT_DOUBLE_EQ(v.rpo_seconds, 4);  // server now = S0+5, oldest pending commit S0+1
  EXPECT_DOUBLE_EQ(v.lag_seconds, 5);  // durable state known as of S0 (last idle moment)
  EXPECT_GE(v.lag_seconds, v.rpo_seconds);

  metrics_.OnAcknowledged(Lsn(0x2000));
  v = metrics_.Compute();
  EXPECT_EQ(v.rpo_seconds, 0);
  EXPECT_EQ(v.lag_seconds, 0);
  EXPECT_EQ(v.lag_bytes, 0u);
}

TEST_F(AgentMetricsTest, StalledSinkMakesRpoGrowWithoutServerMessages) {
  metrics_.OnServerMessage(Lsn(0x1000), Lsn(0x1000), kServer0);
  metrics_.OnHandedOff("kafka", Lsn(0x2000), kServer0, 1, 100);
  metrics_.OnServerMessage(Lsn(0x2000), Lsn(0x2000), kServer0);
  for (int i = 1; i <= 3; ++i) {
    clock_.Advance(absl::Seconds(100));
    metrics_.Refresh();
    EXPECT_EQ(Sample("walship_rpo_seconds"), 100 * i);
    EXPECT_EQ(Sample("walship_replication_lag_seconds"), 100 * i);
  }
}

TEST_F(AgentMetricsTest, LagUsesNewestDurableCommitOnceOlderWorkIsAcknowledged) {
  metrics_.OnServerMessage(Lsn(0x1000), Lsn(0x1000), kServer0);
  metrics_.OnHandedOff("s", Lsn(0x2000), kServer0 + absl::Seconds(10), 1, 1);
  metrics_.OnHandedOff("s", Lsn(0x3000), kServer0 + absl::Seconds(20), 1, 1);
  metrics_.OnHandedOff("s", Lsn(0x4000), kServer0 + absl::Seconds(30), 1, 1);
  metrics_.OnServerMessage(Lsn(0x4000), Lsn(0x4000), kServer0 + absl::Seconds(40));
  metrics_.OnAcknowledged(Lsn(0x2000));  // first durable: newest durable commit S0+10
  AgentMetrics::Values v = metrics_.Compute();
  EXPECT_DOUBLE_EQ(v.lag_seconds, 30);  // S0+40 - S0+10
  EXPECT_DOUBLE_EQ(v.rpo_seconds, 20);  // S0+40 - S0+20
  metrics_.OnAcknowledged(Lsn(0x3000));
  v = metrics_.Compute();
  EXPECT_DOUBLE_EQ(v.lag_seconds, 20);
  EXPECT_DOUBLE_EQ(v.rpo_seconds, 10);
}

TEST_F(AgentMetricsTest, OneCommitAfterAnIdleHourIsNotAnHourOfLag) {
  metrics_.OnHandedOff("s", Lsn(0x2000), kServer0, 1, 1);
  metrics_.OnAcknowledged(Lsn(0x2000));
  // An hour of keepalives with nothing pending.
  metrics_.OnServerMessage(Lsn(0x2000), Lsn(0x2000), kServer0 + absl::Hours(1));
  metrics_.OnHandedOff("s", Lsn(0x3000), kServer0 + absl::Hours(1) + absl::Seconds(1), 1, 1);
  metrics_.OnServerMessage(Lsn(0x3000), Lsn(0x3000), kServer0 + absl::Hours(1) + absl::Seconds(2));
  AgentMetrics::Values v = metrics_.Compute();
  EXPECT_DOUBLE_EQ(v.lag_seconds, 2);
  EXPECT_DOUBLE_EQ(v.rpo_seconds, 1);
}

TEST_F(AgentMetricsTest, LagNeverClaimsTheOldestPendingCommitIsDurable) {
  // A large transaction streams for 30 s with nothing pending, then is handed off.
  metrics_.OnServerMessage(Lsn(0x1000), Lsn(0x1000), kServer0 + absl::Seconds(30));
  metrics_.OnHandedOff("s", Lsn(0x9000), kServer0, 1, 1);
  metrics_.OnServerMessage(Lsn(0x9000), Lsn(0x9000), kServer0 + absl::Seconds(31));
  AgentMetrics::Values v = metrics_.Compute();
  EXPECT_DOUBLE_EQ(v.rpo_seconds, 31);
  EXPECT_DOUBLE_EQ(v.lag_seconds, 31);
}

TEST_F(AgentMetricsTest, MergedTransactionsOnlyOverstateRpo) {
  const size_t n = AgentMetrics::kMaxTrackedTransactions + 100;
  for (size_t i = 1; i <= n; ++i) {
    metrics_.OnHandedOff("s", Lsn(i * 0x100), kServer0 + absl::Milliseconds(i), 1, 1);
  }
  metrics_.OnServerMessage(Lsn(n * 0x100), Lsn(n * 0x100), kServer0 + absl::Seconds(100));
  EXPECT_NEAR(metrics_.Compute().rpo_seconds, 100 - 0.001, 1e-9);
  // Acknowledge into the merged tail: the oldest pending commit is somewhere in it; the
  // estimate may be older than the truth, never newer.
  size_t acked = AgentMetrics::kMaxTrackedTransactions + 50;
  metrics_.OnAcknowledged(Lsn(acked * 0x100));
  double truth = 100 - (acked + 1) * 0.001;
  EXPECT_GE(metrics_.Compute().rpo_seconds, truth - 1e-9);
  metrics_.OnAcknowledged(Lsn(n * 0x100));
  EXPECT_EQ(metrics_.Compute().rpo_seconds, 0);
}

TEST_F(AgentMetricsTest, CountsPerSinkAndDurableWatermark) {
  metrics_.OnHandedOff("kafka", Lsn(0x2000), kServer0, 10, 1000);
  metrics_.OnHandedOff("kafka", Lsn(0x3000), kServer0, 5, 500);
  metrics_.OnHandedOff("file:///s", Lsn(0x3000), kServer0, 15, 700);
  metrics_.OnSinkDurable("kafka", Lsn(0x2000));
  EXPECT_EQ(Sample("walship_sink_events_total{sink=\"kafka\"}"), 15);
  EXPECT_EQ(Sample("walship_sink_transactions_total{sink=\"kafka\"}"), 2);
  EXPECT_EQ(Sample("walship_sink_bytes_total{sink=\"kafka\"}"), 1500);
  EXPECT_EQ(Sample("walship_sink_transactions_total{sink=\"file:///s\"}"), 1);
  EXPECT_EQ(Sample("walship_sink_durable_lsn{sink=\"kafka\"}"), 0x2000);
  EXPECT_EQ(Sample("walship_sink_durable_lsn{sink=\"file:///s\"}"), 0);
}

TEST_F(AgentMetricsTest, StateIsOneHot) {
  EXPECT_EQ(Sample("walship_agent_state{state=\"reconnecting\"}"), 1);
  EXPECT_EQ(Sample("walship_agent_state{state=\"streaming\"}"), 0);
  metrics_.SetState(AgentState::kStreaming);
  EXPECT_EQ(Sample("walship_agent_state{state=\"streaming\"}"), 1);
  EXPECT_EQ(Sample("walship_agent_state{state=\"reconnecting\"}"), 0);
  EXPECT_EQ(Sample("walship_agent_state{state=\"snapshotting\"}"), 0);
  EXPECT_EQ(Sample("walship_agent_state{state=\"stopping\"}"), 0);
}

TEST_F(AgentMetricsTest, CountersHistogramsAndTimestamps) {
  metrics_.OnRetry("kafka", "transport");
  metrics_.OnRetry("kafka", "transport");
  metrics_.OnError("sink", "upload");
  metrics_.ObserveSegmentBuild(absl::Milliseconds(3));
  metrics_.ObserveUpload("s3://b", absl::Milliseconds(70));
  metrics_.SetBaseSnapshotProgress(0.25);
  metrics_.AddBaseSnapshotRows(1234);
  metrics_.OnHeartbeat(absl::FromUnixSeconds(1'700'000'123));
  metrics_.SetSlotRetainedWalBytes(4096);
  EXPECT_EQ(Sample("walship_retries_total{kind=\"transport\",sink=\"kafka\"}"), 2);
  EXPECT_EQ(Sample("walship_errors_total{component=\"sink\",kind=\"upload\"}"), 1);
  EXPECT_EQ(Sample("walship_segment_build_seconds_count"), 1);
  EXPECT_EQ(Sample("walship_segment_build_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(Sample("walship_segment_build_seconds_bucket{le=\"0.001\"}"), 0);
  EXPECT_EQ(Sample("walship_upload_seconds_bucket{sink=\"s3://b\",le=\"0.1\"}"), 1);
  EXPECT_EQ(Sample("walship_base_snapshot_progress_ratio"), 0.25);
  EXPECT_EQ(Sample("walship_base_snapshot_rows_total"), 1234);
  EXPECT_EQ(Sample("walship_heartbeat_timestamp_seconds"), 1'700'000'123);
  EXPECT_EQ(Sample("walship_slot_retained_wal_bytes"), 4096);
  metrics_.OnBaseSnapshotSucceeded(absl::FromUnixSeconds(1'700'000'200));
  EXPECT_EQ(Sample("walship_base_snapshot_progress_ratio"), 1);
  EXPECT_EQ(Sample("walship_base_snapshot_last_success_timestamp_seconds"), 1'700'000'200);
  EXPECT_EQ(Sample("walship_build_info{version=\"9.9.9\"}"), 1);
}

// Commit-to-durable: from the source commit (server clock) until the slowest sink holds
// the transaction, observed once per transaction into 10 ms buckets.
TEST_F(AgentMetricsTest, CommitToDurableWaitsForEverySinkOnTheServerClock) {
  metrics_.OnServerMessage(Lsn(0x100), Lsn(0x100), kServer0);
  metrics_.OnHandedOff("store", Lsn(0x200), kServer0 - absl::Milliseconds(5), 1, 10);
  metrics_.OnHandedOff("kafka", Lsn(0x200), kServer0 - absl::Milliseconds(5), 1, 10);
  metrics_.OnHandedOff("store", Lsn(0x300), kServer0, 1, 10);
  metrics_.OnHandedOff("kafka", Lsn(0x300), kServer0, 1, 10);
  clock_.Advance(absl::Milliseconds(30));
  metrics_.OnSinkDurable("store", Lsn(0x300));
  EXPECT_EQ(Sample("walship_commit_to_durable_seconds_count"), 0);  // kafka has neither
  clock_.Advance(absl::Milliseconds(20));
  metrics_.OnSinkDurable("kafka", Lsn(0x200));
  EXPECT_EQ(Sample("walship_commit_to_durable_seconds_count"), 1);
  EXPECT_EQ(Sample("walship_commit_to_durable_seconds_bucket{le=\"0.05\"}"), 0);  // 55 ms
  EXPECT_EQ(Sample("walship_commit_to_durable_seconds_bucket{le=\"0.06\"}"), 1);
  clock_.Advance(absl::Milliseconds(200));
  metrics_.OnSinkDurable("kafka", Lsn(0x300));
  EXPECT_EQ(Sample("walship_commit_to_durable_seconds_count"), 2);
  EXPECT_EQ(Sample("walship_commit_to_durable_seconds_bucket{le=\"0.24\"}"), 1);  // 250 ms
  EXPECT_EQ(Sample("walship_commit_to_durable_seconds_bucket{le=\"0.25\"}"), 2);
  EXPECT_NEAR(Sample("walship_commit_to_durable_seconds_sum"), 0.305, 1e-9);
}

TEST_F(AgentMetricsTest, MetricNamesListsExactlyTheRegisteredFamilies) {
  metrics_.OnHandedOff("kafka", Lsn(0x2000), kServer0, 1, 1);
  metrics_.ObserveUpload("kafka", absl::Milliseconds(1));
  metrics_.OnRetry("kafka", "x");
  metrics_.OnError("agent", "x");
  std::set<std::string> registered;
  for (const prometheus::MetricFamily& family : registry_.Collect()) {
    registered.insert(family.name);
  }
  EXPECT_THAT(AgentMetrics::MetricNames(), ElementsAreArray(registered));
}

TEST_F(AgentMetricsTest, SnapshotReportsPendingWorkAndSinkProgress) {
  metrics_.SetState(AgentState::kStreaming);
  HealthSnapshot idle = metrics_.Snapshot();
  EXPECT_FALSE(idle.work_pending);
  EXPECT_TRUE(EvaluateHealth(idle, clock_.Now()).healthy);

  metrics_.OnHandedOff("kafka", Lsn(0x2000), kServer0, 1, 1);
  metrics_.OnHandedOff("file", Lsn(0x2000), kServer0, 1, 1);
  metrics_.OnSinkDurable("file", Lsn(0x2000));
  clock_.Advance(absl::Seconds(61));
  HealthSnapshot stalled = metrics_.Snapshot();
  ASSERT_EQ(stalled.sinks.size(), 2u);
  EXPECT_EQ(stalled.sinks[0].name, "file");
  EXPECT_EQ(stalled.sinks[1].name, "kafka");
  EXPECT_EQ(stalled.sinks[1].durable, Lsn());
  EXPECT_TRUE(stalled.work_pending);
  HealthVerdict v = EvaluateHealth(stalled, clock_.Now());
  EXPECT_FALSE(v.healthy);
  EXPECT_THAT(v.reason, ::testing::HasSubstr("sink \"kafka\" stalled"));

  metrics_.OnSinkDurable("kafka", Lsn(0x2000));
  metrics_.OnAcknowledged(Lsn(0x2000));
  EXPECT_TRUE(EvaluateHealth(metrics_.Snapshot(), clock_.Now()).healthy);
}

}  // namespace
}  // namespace walship::agent
