// A transaction far larger than a segment (--segment-max-bytes 64 KiB, uncompressed) is
// stored as a segment split across objects (parts under part/) and restored whole: a
// restore to the end equals the source, a restore to just before its commit holds none of
// it, a restore with --to-xid stops right after it. The agent killed after some parts are
// stored (before the segment that names them) resends the transaction on restart and
// nothing is lost; a damaged or missing part stops the restore before its first write,
// naming the part.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kSchema[] =
    "CREATE TABLE deals (id int PRIMARY KEY, stage text, notes text, amount numeric(14,2));"
    "CREATE TABLE audit (id bigserial PRIMARY KEY, deal int, what text);"
    "INSERT INTO deals SELECT g, 'open', repeat('n', 50), g FROM generate_series(1, 200) g;";

// About 3 MB of change records in one transaction: inserts, updates of earlier rows
// (before and after images), deletes, across two tables.
constexpr char kBulk[] =
    "BEGIN;"
    "INSERT INTO deals SELECT g, 'bulk', repeat(md5(g::text), 8), g * 1.5 "
    "  FROM generate_series(1000, 9000) g;"
    "UPDATE deals SET stage = 'won', amount = amount + 1 WHERE id % 3 = 0;"
    "INSERT INTO audit (deal, what) SELECT id, 'touched ' || stage FROM deals WHERE id % 5 = 0;"
    "DELETE FROM deals WHERE id % 7 = 0 AND id < 5000;"
    "COMMIT;";

class SplitTransactionTest : public CrmStoreTest {
 protected:
  SplitTransactionTest() : CrmStoreTest(kSchema) {}

  std::vector<std::string> AgentArgs(const std::string& until) {
    return {"--source", pg_->ConnInfo("crm"), "--create", "--object-store", "file://" + store_,
            "--work-dir", work_, "--segment-max-bytes", "65536", "--compression-level", "0",
            "--segment-max-ms", "50", "--until-lsn", until};
  }

  std::vector<std::string> Parts() {
    std::vector<std::string> parts;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(store_)) {
      if (entry.is_regular_file() && absl::StrContains(entry.path().string(), "/part/")) {
        parts.push_back(entry.path().string());
      }
    }
    std::sort(parts.begin(), parts.end());
    return parts;
  }

  SubprocessResult Restore(const std::string& db, std::vector<std::string> extra = {}) {
    EXPECT_OK(pg_->CreateDatabase(db));
    std::vector<std::string> args = {"restore", "--object-store", "file://" + store_, "--target",
                                     pg_->ConnInfo(db)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = RunReplay(args);
    EXPECT_OK(result.status());
    return result.ok() ? *result : SubprocessResult{};
  }
};

TEST_F(SplitTransactionTest, AHugeTransactionIsStoredInPartsAndRestoredWhole) {
  ASSERT_OK_AND_ASSIGN(SubprocessResult setup, RunAgent(AgentArgs("0/1")));
  ASSERT_EQ(setup.exit_code, 0) << setup.stderr_text;
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO audit (deal, what) VALUES (1, 'before')").status());
  ASSERT_OK_AND_ASSIGN(TableRows before_bulk, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(Lsn before, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(std::string xid, pg_->Query("crm", "SELECT txid_current() + 1"));
  ASSERT_OK(pg_->Psql("crm", kBulk).status());
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO audit (deal, what) VALUES (2, 'after')").status());
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));

  // Killed once some parts are stored, before the segment that names them.
  ASSERT_OK_AND_ASSIGN(SubprocessResult crashed,
                       RunAgent(AgentArgs(end.ToString()), absl::Seconds(120),
                                {{"WALSHIP_CRASH_AT", "part-stored:3"}}));
  EXPECT_NE(crashed.exit_code, 0);
  std::vector<std::string> orphans = Parts();
  EXPECT_EQ(orphans.size(), 3u);
  ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_LT(confirmed, end);

  ASSERT_OK_AND_ASSIGN(SubprocessResult run, RunAgent(AgentArgs(end.ToString())));
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  // The parts the stored segment names: those the second run wrote.
  std::vector<std::string> parts;
  for (const std::string& part : Parts()) {
    if (std::find(orphans.begin(), orphans.end(), part) == orphans.end()) parts.push_back(part);
  }
  EXPECT_GT(parts.size(), 10u) << "the transaction was not split";

  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  {
    SCOPED_TRACE("to the end");
    SubprocessResult restore = Restore("whole");
    ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
    ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "whole"));
    EXPECT_EQ(FirstDifference(source, restored), "");
  }
  {
    SCOPED_TRACE("just before the bulk transaction");
    SubprocessResult restore = Restore("before", {"--to-lsn", before.ToString()});
    ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
    ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "before"));
    EXPECT_EQ(FirstDifference(before_bulk, restored), "");
  }
  {
    SCOPED_TRACE("right after it, by transaction id");
    SubprocessResult restore = Restore("after_xid", {"--to-xid", xid});
    ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
    ASSERT_OK_AND_ASSIGN(std::string deals, pg_->Query("after_xid", "SELECT count(*) FROM deals"));
    ASSERT_OK_AND_ASSIGN(std::string source_deals, pg_->Query("crm", "SELECT count(*) FROM deals"));
    EXPECT_EQ(deals, source_deals);
    ASSERT_OK_AND_ASSIGN(std::string after_row,
                         pg_->Query("after_xid", "SELECT count(*) FROM audit WHERE what = 'after'"));
    EXPECT_EQ(after_row, "0");
  }

  // A damaged part, then a missing one: the restore stops before its first write, naming it.
  std::string victim = parts[parts.size() / 2];
  std::string name = victim.substr(victim.rfind('/') + 1);
  std::string original;
  {
    std::ifstream in(victim, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = original;
  flipped[flipped.size() / 2] ^= 0x10;
  std::filesystem::permissions(victim, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::ofstream(victim, std::ios::binary | std::ios::trunc) << flipped;
  SubprocessResult damaged = Restore("damaged");
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_THAT(damaged.stderr_text, AllOf(HasSubstr(name), HasSubstr("Nothing was written")));
  EXPECT_EQ(*pg_->Query("damaged", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            "0");
  std::filesystem::remove(victim);
  SubprocessResult missing = Restore("missing");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.stderr_text, AllOf(HasSubstr(name), HasSubstr("missing")));
  // The crashed run's leftovers are named by no segment and never read.
  for (const std::string& orphan : orphans) std::filesystem::remove(orphan);
  std::ofstream(victim, std::ios::binary) << original;
  SubprocessResult again = Restore("again");
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  ASSERT_OK_AND_ASSIGN(TableRows restored_again, CaptureTables(*pg_, "again"));
  EXPECT_EQ(FirstDifference(source, restored_again), "");
}

}  // namespace
}  // namespace walship::testing
