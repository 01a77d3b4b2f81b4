// End to end with base snapshots: rows exist before the agent starts, its first --create
// start takes a base snapshot while writes go on, the CRM workload runs with a mark before a
// bad DELETE, and walship-replay restores onto an empty database (no schema given) equal
// byte for byte to the source at the mark; a table-level restore leaves every live table
// untouched; the drill passes.
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

class BaseRestoreEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", CrmSchemaSql()).status());
    store_ = MakeTempDir("store");
    work_ = MakeTempDir("work");
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(store_);
      std::filesystem::remove_all(work_);
    }
  }
  bool HasBase() {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(store_, ec);
         it != std::filesystem::recursive_directory_iterator(); ++it) {
      if (it->path().filename() == "manifest.pb") return true;
    }
    return false;
  }
  SubprocessResult Replay(const std::vector<std::string>& args) {
    auto result = RunReplay(args);
    EXPECT_OK(result.status());
    return result.ok() ? *result : SubprocessResult{};
  }

  std::unique_ptr<PgCluster> pg_;
  std::string store_;
  std::string work_;
};

TEST_F(BaseRestoreEndToEndTest, RestoresToAMarkOntoAnEmptyServer) {
  std::vector<WorkloadStep> steps = CrmWorkload();
  ASSERT_GE(steps.size(), 3u);
  // Rows before the agent starts.
  ASSERT_OK(pg_->Psql("crm", steps[0].sql).status());
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(auto agent,
                       StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                                   "file://" + store_, "--work-dir", work_, "--segment-max-ms",
                                   "50"},
                                  log));
  // Writes while the initial snapshot is taken: neither lost nor applied twice.
  for (size_t i = 1; i < steps.size() - 1; ++i) {
    ASSERT_THAT(pg_->Psql("crm", steps[i].sql), IsOk()) << steps[i].name;
  }
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!HasBase()) {
    ASSERT_TRUE(agent->Running()) << ReadFile(log);
    ASSERT_LT(absl::Now(), deadline) << "no base snapshot: " << ReadFile(log);
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_OK(pg_->Psql("crm", steps.back().sql).status());
  ASSERT_OK(pg_->Psql("crm", "SELECT pg_logical_emit_message(true, 'walship', "
                             "'mark:before-delete')").status());
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  ASSERT_OK(pg_->Psql("crm", "DELETE FROM deals").status());  // the bad DELETE
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk())
      << ReadFile(log);
  agent.reset();

  SubprocessResult list = Replay({"list", "--object-store", "file://" + store_});
  EXPECT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_THAT(list.stdout_text, HasSubstr("base snapshots: 1"));
  EXPECT_THAT(list.stdout_text, HasSubstr("mark \"before-delete\""));

  ASSERT_OK(pg_->CreateDatabase("restored"));
  SubprocessResult restore =
      Replay({"restore", "--object-store", "file://" + store_, "--target",
              pg_->ConnInfo("restored"), "--to-mark", "before-delete"});
  ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
  ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "restored"));
  EXPECT_EQ(FirstDifference(expected, restored), "");

  // Table-level: deals back beside the live data; every live table identical.
  ASSERT_OK_AND_ASSIGN(TableRows live_before, CaptureTables(*pg_, "crm"));
  SubprocessResult table_level =
      Replay({"restore", "--object-store", "file://" + store_, "--target", pg_->ConnInfo("crm"),
              "--to-mark", "before-delete", "--tables", "deals", "--into-schema", "restored"});
  ASSERT_EQ(table_level.exit_code, 0) << table_level.stderr_text;
  ASSERT_OK_AND_ASSIGN(TableRows live_after, CaptureTables(*pg_, "crm"));
  for (const auto& [table, rows] : live_before) {
    EXPECT_EQ(live_after[table], rows) << table;
  }
  EXPECT_EQ(live_after["restored.deals"], expected["public.deals"]);

  ASSERT_OK(pg_->CreateDatabase("scratch"));
  SubprocessResult drill = Replay(
      {"drill", "--object-store", "file://" + store_, "--scratch", pg_->ConnInfo("scratch")});
  EXPECT_EQ(drill.exit_code, 0) << drill.stdout_text << drill.stderr_text;
}

}  // namespace
}  // namespace walship::testing
