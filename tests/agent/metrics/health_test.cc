// The /healthz decision at explicit times.
#include "agent/metrics/health.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::agent {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

HealthSnapshot Streaming() {
  HealthSnapshot s;
  s.state = AgentState::kStreaming;
  s.state_since = kNow - absl::Minutes(10);
  s.acknowledged = Lsn(0x1000);
  return s;
}

TEST(EvaluateHealth, StreamingWithNothingPendingIsHealthy) {
  HealthVerdict v = EvaluateHealth(Streaming(), kNow);
  EXPECT_TRUE(v.healthy);
  EXPECT_EQ(v.reason, "ok");
}

TEST(EvaluateHealth, EveryOtherStateIsUnhealthyAndNamed) {
  for (AgentState state :
       {AgentState::kSnapshotting, AgentState::kReconnecting, AgentState::kStopping}) {
    HealthSnapshot s = Streaming();
    s.state = state;
    s.state_since = kNow - absl::Seconds(5);
    HealthVerdict v = EvaluateHealth(s, kNow);
    EXPECT_FALSE(v.healthy);
    EXPECT_EQ(v.reason, absl::StrCat("agent is ", AgentStateName(state), " (for 5s)"));
  }
}

TEST(EvaluateHealth, PendingWorkWithRecentAcknowledgementIsHealthy) {
  HealthSnapshot s = Streaming();
  s.work_pending = true;
  s.ack_progress_since = kNow - absl::Seconds(59);
  s.sinks.push_back({"kafka", Lsn(0x2000), Lsn(0x1800), kNow - absl::Seconds(1)});
  EXPECT_TRUE(EvaluateHealth(s, kNow).healthy);
}

TEST(EvaluateHealth, AcknowledgedPositionStuckPastThresholdIsUnhealthy) {
  HealthSnapshot s = Streaming();
  s.work_pending = true;
  s.ack_progress_since = kNow - absl::Seconds(61);
  HealthVerdict v = EvaluateHealth(s, kNow);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason,
            "acknowledged position 0/1000 has not moved for 61s with work pending (threshold 60s)");
}

TEST(EvaluateHealth, IdleAgentIsHealthyHoweverOldItsLastAcknowledgement) {
  HealthSnapshot s = Streaming();
  s.ack_progress_since = kNow - absl::Hours(5);
  s.sinks.push_back({"kafka", Lsn(0x2000), Lsn(0x2000), kNow - absl::Hours(5)});
  EXPECT_TRUE(EvaluateHealth(s, kNow).healthy);
}

TEST(EvaluateHealth, StalledSinkIsNamedEvenWhenAnotherSinkProgresses) {
  HealthSnapshot s = Streaming();
  s.work_pending = true;
  s.ack_progress_since = kNow - absl::Seconds(10);
  s.sinks.push_back({"file:///store", Lsn(0x3000), Lsn(0x3000), kNow});
  s.sinks.push_back({"kafka", Lsn(0x3000), Lsn(0x2000), kNow - absl::Seconds(30)});
  EXPECT_TRUE(EvaluateHealth(s, kNow).healthy);
  HealthVerdict v = EvaluateHealth(s, kNow, absl::Seconds(20));
  EXPECT_FALSE(v.healthy);
  EXPECT_THAT(v.reason, HasSubstr("sink \"kafka\" stalled: durable at 0/2000 for 30s while "
                                  "0/3000 is pending (threshold 20s)"));
}

TEST(EvaluateHealth, ThresholdIsConfigurable) {
  HealthSnapshot s = Streaming();
  s.work_pending = true;
  s.ack_progress_since = kNow - absl::Seconds(61);
  EXPECT_TRUE(EvaluateHealth(s, kNow, absl::Seconds(120)).healthy);
  EXPECT_FALSE(EvaluateHealth(s, kNow, absl::Seconds(30)).healthy);
}

}  // namespace
}  // namespace walship::agent
