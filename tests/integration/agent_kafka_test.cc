// End to end through the shipped walship-agent: the CRM workload streamed to the mock Kafka
// cluster (its own process, 3 brokers, real protocol on loopback TCP) and a local object
// store. What the brokers hold is read back with kcat, every value is decoded by protoc
// against proto/walship.proto, each table is rebuilt from its topic and compared with the
// source byte for byte as `row::text`, and the expected number of events per table comes
// from an independent decoder (a test_decoding slot created before the workload).
// Bad input: agent_kafka_bad_input_test.cc.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/agent_kafka_fixture.h"
#include "tests/integration/harness.h"
#include "tests/testing/kcat.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

// ---- 1. the whole workload -----------------------------------------------------------

TEST_F(AgentKafkaTest, TopicsRebuildTheSourceTablesByteForByte) {
  CreateReferenceSlot();
  std::string log = work_ + "/agent.log";
  // No --topic-prefix: the prefix is the source database's name.
  auto agent = StartStreaming(AgentArgs(), log);
  ASSERT_NE(agent, nullptr);
  RunSteps(0, 100);
  CatchUpAndStop(*agent, log);
  EXPECT_EQ(CheckEverything(), 0) << "a clean run sent duplicates";
  // The object store got the same stream.
  EXPECT_FALSE(StoredSegments(store_).empty());
}

// ---- 2. broker outage ----------------------------------------------------------------

TEST_F(AgentKafkaTest, BrokerOutageHoldsTheSlotAndLosesNothing) {
  CreateReferenceSlot();
  std::string log = work_ + "/agent.log";
  auto agent = StartStreaming(AgentArgs({"--topic-prefix", kPrefix}), log);
  ASSERT_NE(agent, nullptr);
  RunSteps(0, 3);
  ASSERT_OK_AND_ASSIGN(Lsn delivered, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", delivered, absl::Seconds(60)), IsOk())
      << ReadFile(log);

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka_->Command(absl::StrCat("down ", id)));
    ASSERT_EQ(rc, 0);
  }
  absl::SleepFor(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(Lsn before, CurrentLsn(*pg_, "crm"));
  // A one-row transaction first, so that no keepalive can land inside it; then the rest of
  // the workload, while every broker is down.
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO deal_contacts VALUES (999, 1, 'during outage')").status());
  ASSERT_OK_AND_ASSIGN(Lsn first_end, CurrentLsn(*pg_, "crm"));
  RunSteps(3, 100);
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  absl::Time until = absl::Now() + absl::Seconds(4);
  while (absl::Now() < until) {
    ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
    ASSERT_LE(confirmed, before) << "confirmed past what Kafka holds (first undelivered "
                                    "transaction ends at "
                                 << first_end.ToString() << ")";
    ASSERT_TRUE(agent->Running()) << ReadFile(log);
    absl::SleepFor(absl::Milliseconds(100));
  }
  // The object store alone holds the outage's transactions: it is not what is acknowledged.
  EXPECT_GT(MaxStoredEnd(store_), before);

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka_->Command(absl::StrCat("up ", id)));
    ASSERT_EQ(rc, 0);
  }
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(120)), IsOk())
      << ReadFile(log);
  CatchUpAndStop(*agent, log);
  CheckEverything();
  // Counted by kcat, the outage's first transaction is there.
  ASSERT_OK_AND_ASSIGN(auto contacts, KcatConsume(kafka_->bootstrap(), "crm.public.deal_contacts"));
  int found = 0;
  for (const ConsumedMessage& m : contacts) {
    found += m.value.has_value() && absl::StrContains(*m.value, "during outage");
  }
  EXPECT_EQ(found, 1);
}

// ---- 3. kill -9 mid-stream -----------------------------------------------------------

TEST_F(AgentKafkaTest, KillNineThenRestartLosesNothingAndDuplicatesAreDroppable) {
  CreateReferenceSlot();
  // The first run is killed while PostgreSQL streams the large transaction (savepoint
  // changes included, then aborted); the restart gets it whole at commit. Re-sent events
  // must keep their positions either way.
  std::vector<std::string> args = AgentArgs({"--topic-prefix", kPrefix});
  {
    // Killed by the test while the large transaction is being shipped.
    std::string log = work_ + "/agent-1.log";
    auto agent = StartStreaming(args, log);
    ASSERT_NE(agent, nullptr);
    RunSteps(0, 4);
    absl::SleepFor(absl::Milliseconds(300));
    agent->Kill(SIGKILL);
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, agent->Wait(absl::Seconds(30)));
    EXPECT_EQ(result.term_signal, SIGKILL) << ReadFile(log);
  }
  RunSteps(4, 5);
  {
    // Kills itself after delivering, just before acknowledging: a sure re-send.
    std::string log = work_ + "/agent-2.log";
    auto agent = StartAgent(args, log, {{"WALSHIP_CRASH_AT", "before-ack:2"}});
    ASSERT_OK(agent.status());
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, (*agent)->Wait(absl::Seconds(120)));
    EXPECT_EQ(result.term_signal, SIGKILL) << ReadFile(log);
  }
  std::string log = work_ + "/agent-3.log";
  auto agent = StartStreaming(args, log);
  ASSERT_NE(agent, nullptr);
  RunSteps(5, 100);
  CatchUpAndStop(*agent, log);
  int dropped = CheckEverything();
  RecordProperty("duplicates_dropped", dropped);
  std::printf("consumer dropped %d re-sent events\n", dropped);
}

}  // namespace
}  // namespace walship::testing
