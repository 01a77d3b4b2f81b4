// End to end: the agent streams the CRM workload into a local object store; replay restores
// to several LSNs, a time and an xid, and every table equals the source's rows captured at
// that very point, byte for byte as text.
#include <signal.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

struct CapturePoint {
  std::string name;
  Lsn lsn;
  TableRows rows;
};

class AgentReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", CrmSchemaSql()).status());
    ASSERT_OK_AND_ASSIGN(schema_sql_, DumpSchema(*pg_, "crm"));
    store_ = MakeTempDir("store");
    work_ = MakeTempDir("work");
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(store_);
      std::filesystem::remove_all(work_);
    }
  }

  std::vector<std::string> AgentArgs() {
    return {"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
            "file://" + store_, "--work-dir", work_, "--segment-max-ms", "50"};
  }

  // Restores into a new database holding the initial schema; returns its rows.
  TableRows Restore(const std::string& db, std::vector<std::string> target_args) {
    EXPECT_OK(CreateDatabaseWithSchema(*pg_, db, schema_sql_));
    std::vector<std::string> args = {"restore", "--object-store", "file://" + store_,
                                     "--target", pg_->ConnInfo(db)};
    args.insert(args.end(), target_args.begin(), target_args.end());
    auto result = RunReplay(args);
    EXPECT_OK(result.status());
    if (result.ok()) {
      EXPECT_EQ(result->exit_code, 0) << result->stderr_text;
    }
    auto rows = CaptureTables(*pg_, db);
    EXPECT_OK(rows.status());
    return rows.ok() ? *rows : TableRows();
  }

  std::unique_ptr<PgCluster> pg_;
  std::string schema_sql_;
  std::string store_;
  std::string work_;
};

TEST_F(AgentReplayTest, RestoresEveryCapturedPointByteForByte) {
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent(AgentArgs(), log));
  // The slot exists once the agent is ready: changes from then on are captured.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
    if (confirmed.valid()) break;
    ASSERT_LT(absl::Now(), deadline) << ReadFile(log);
    ASSERT_TRUE(agent->Running()) << ReadFile(log);
    absl::SleepFor(absl::Milliseconds(50));
  }
  // The first start takes a base snapshot, then streams.
  ASSERT_THAT(WaitForBase(store_, absl::Seconds(60)), IsOk()) << ReadFile(log);
  absl::SleepFor(absl::Milliseconds(300));

  std::vector<CapturePoint> points;
  std::string time_before_large;
  std::string large_xid;
  for (const WorkloadStep& step : CrmWorkload()) {
    if (absl::StrContains(step.name, "large")) {
      ASSERT_OK_AND_ASSIGN(
          time_before_large,
          pg_->Query("crm", "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_THAT(pg_->Psql("crm", step.sql), IsOk()) << step.name;
    if (absl::StrContains(step.name, "large")) {
      ASSERT_OK_AND_ASSIGN(large_xid,
                           pg_->Query("crm", "SELECT xmin FROM deals WHERE payload->>'bulk' = '1'"));
    }
    CapturePoint point;
    point.name = step.name;
    ASSERT_OK_AND_ASSIGN(point.lsn, CurrentLsn(*pg_, "crm"));
    ASSERT_OK_AND_ASSIGN(point.rows, CaptureTables(*pg_, "crm"));
    points.push_back(std::move(point));
  }
  ASSERT_GE(points.size(), 7u);
  ASSERT_FALSE(large_xid.empty());

  // Everything acknowledged means everything stored; then a clean stop.
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", points.back().lsn, absl::Seconds(60)), IsOk())
      << ReadFile(log);
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(30)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  // Several LSNs, each compared with the source at that very point.
  for (size_t i : {size_t{0}, size_t{2}, size_t{3}, size_t{5}, points.size() - 1}) {
    SCOPED_TRACE(points[i].name);
    TableRows restored = Restore(absl::StrCat("lsn_", i), {"--to-lsn", points[i].lsn.ToString()});
    EXPECT_EQ(FirstDifference(points[i].rows, restored), "");
  }
  {
    SCOPED_TRACE("--to-time before the large transaction");
    TableRows restored = Restore("by_time", {"--to-time", time_before_large});
    EXPECT_EQ(FirstDifference(points[2].rows, restored), "");
  }
  {
    SCOPED_TRACE("--to-xid of the large transaction");
    TableRows restored = Restore("by_xid", {"--to-xid", large_xid});
    EXPECT_EQ(FirstDifference(points[3].rows, restored), "");
  }
  {
    SCOPED_TRACE("--to-xid --exclusive");
    TableRows restored = Restore("by_xid_excl", {"--to-xid", large_xid, "--exclusive"});
    EXPECT_EQ(FirstDifference(points[2].rows, restored), "");
  }

  // verify agrees: the full restore equals the source, an earlier point does not.
  ASSERT_OK_AND_ASSIGN(auto equal, RunReplay({"verify", "--source", pg_->ConnInfo("crm"),
                                              "--target", pg_->ConnInfo(absl::StrCat(
                                                              "lsn_", points.size() - 1))}));
  EXPECT_EQ(equal.exit_code, 0) << equal.stdout_text << equal.stderr_text;
  EXPECT_THAT(equal.stdout_text, HasSubstr("equal"));
  ASSERT_OK_AND_ASSIGN(auto differ, RunReplay({"verify", "--source", pg_->ConnInfo("crm"),
                                               "--target", pg_->ConnInfo("lsn_0")}));
  EXPECT_EQ(differ.exit_code, 1) << differ.stdout_text << differ.stderr_text;

  // A second run with --until-lsn picks up where the first stopped and exits by itself.
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO deals (customer_id, amount) VALUES (1, 42.42)").status());
  ASSERT_OK_AND_ASSIGN(Lsn until, CurrentLsn(*pg_, "crm"));
  std::vector<std::string> args = AgentArgs();
  args.push_back("--until-lsn");
  args.push_back(until.ToString());
  ASSERT_OK_AND_ASSIGN(SubprocessResult second, RunAgent(args, absl::Seconds(60)));
  EXPECT_EQ(second.exit_code, 0) << second.stderr_text;
  ASSERT_OK_AND_ASSIGN(Lsn after, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_GE(after, until);
  ASSERT_OK_AND_ASSIGN(TableRows final_rows, CaptureTables(*pg_, "crm"));
  EXPECT_EQ(FirstDifference(final_rows, Restore("after_second_run", {})), "");
}

TEST_F(AgentReplayTest, IdleSlotFollowsTheServerWhileOtherDatabasesWrite) {
  ASSERT_OK(pg_->CreateDatabase("other"));
  std::string log = work_ + "/agent-idle.log";
  std::vector<std::string> args = AgentArgs();
  args.push_back("--heartbeat-interval");
  args.push_back("0.2");
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent(args, log));
  ASSERT_OK(WaitForSlot(*pg_, "crm", "walship", Lsn(1), absl::Seconds(30)));
  ASSERT_OK(pg_->Psql("other", "CREATE TABLE noise (id int); "
                               "INSERT INTO noise SELECT generate_series(1, 20000);").status());
  ASSERT_OK_AND_ASSIGN(Lsn after_noise, CurrentLsn(*pg_, "other"));
  // Nothing of the published database changed, yet the slot must not pin that WAL.
  EXPECT_THAT(WaitForSlot(*pg_, "crm", "walship", after_noise, absl::Seconds(20)), IsOk())
      << ReadFile(log);
  EXPECT_TRUE(StoredSegments(store_).empty()) << "no change of crm happened";
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(30)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);
}

}  // namespace
}  // namespace walship::testing
