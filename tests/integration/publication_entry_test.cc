// Rows that enter the publication without row-change events: ATTACH PARTITION of a filled
// table, SET LOGGED of an unlogged one, ALTER PUBLICATION ... ADD TABLE. The agent notices
// each and takes a base at once, so a restore to any later point has their rows; a restore
// to a point between the entry and that base is refused with the way out.
#include <signal.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kSchema[] = R"sql(
CREATE SCHEMA app;
CREATE SCHEMA ul;
CREATE TABLE app.events (id int, region text, payload text, PRIMARY KEY (id, region))
  PARTITION BY LIST (region);
CREATE TABLE app.events_eu PARTITION OF app.events FOR VALUES IN ('eu');
CREATE TABLE app.staged (id int, region text, payload text, PRIMARY KEY (id, region));
INSERT INTO app.staged SELECT g, 'us', 'staged ' || g FROM generate_series(1, 50) g;
CREATE UNLOGGED TABLE ul.scratch (id int PRIMARY KEY, note text);
INSERT INTO ul.scratch SELECT g, 'scratch ' || g FROM generate_series(1, 30) g;
CREATE TABLE app.extra (id int PRIMARY KEY, v text);
INSERT INTO app.extra SELECT g, 'extra ' || g FROM generate_series(1, 20) g;
INSERT INTO app.events VALUES (1, 'eu', 'first');
CREATE PUBLICATION entry_pub FOR TABLE app.events, TABLES IN SCHEMA ul;
)sql";

class PublicationEntryTest : public CrmStoreTest {
 protected:
  PublicationEntryTest() : CrmStoreTest(kSchema) {}

  int StoredBases() {
    int n = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(store_)) {
      if (entry.path().filename() == "manifest.pb") ++n;
    }
    return n;
  }
  // Runs `sql`, then waits until the agent has stored `bases` base snapshots.
  void EnterAndWaitForBase(const std::string& sql, int bases, const std::string& log) {
    ASSERT_OK(pg_->Psql("crm", sql).status());
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (StoredBases() < bases && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(100));
    ASSERT_EQ(StoredBases(), bases) << "after: " << sql << "\n" << ReadFile(log);
  }

};

TEST_F(PublicationEntryTest, EachEntryTakesABaseAndRestoresHaveTheRows) {
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(
      auto agent,
      StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--publication", "entry_pub",
                  "--object-store", "file://" + store_, "--work-dir", work_,
                  "--segment-max-ms", "50"},
                 log));
  ASSERT_THAT(WaitForBase(store_, absl::Seconds(60)), IsOk()) << ReadFile(log);
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO app.events VALUES (2, 'eu', 'streamed')").status());
  ASSERT_OK_AND_ASSIGN(Lsn before_entry, CurrentLsn(*pg_, "crm"));
  ASSERT_OK(WaitForSlot(*pg_, "crm", "walship", before_entry, absl::Seconds(30)));
  absl::SleepFor(absl::Milliseconds(300));

  // A point inside the entering transaction, after its schema change: past the entry and
  // before the base it causes, whatever the agent's speed.
  ASSERT_OK_AND_ASSIGN(std::string inside,
                       pg_->Query("crm", "BEGIN; ALTER TABLE app.events ATTACH PARTITION "
                                         "app.staged FOR VALUES IN ('us'); "
                                         "SELECT pg_current_wal_insert_lsn(); COMMIT;"));
  ASSERT_OK_AND_ASSIGN(Lsn after_attach, Lsn::Parse(inside));
  ASSERT_NO_FATAL_FAILURE(EnterAndWaitForBase("SELECT 1", 2, log));
  ASSERT_OK(pg_->Psql("crm", "UPDATE app.events SET payload = 'changed' WHERE id = 3 AND "
                             "region = 'us'; INSERT INTO app.events VALUES (99, 'us', 'new')")
                .status());
  ASSERT_NO_FATAL_FAILURE(EnterAndWaitForBase("ALTER TABLE ul.scratch SET LOGGED", 3, log));
  ASSERT_OK(pg_->Psql("crm", "DELETE FROM ul.scratch WHERE id <= 3").status());
  ASSERT_NO_FATAL_FAILURE(
      EnterAndWaitForBase("ALTER PUBLICATION entry_pub ADD TABLE app.extra", 4, log));
  ASSERT_OK(pg_->Psql("crm", "UPDATE app.extra SET v = 'x' WHERE id = 1").status());
  // A table created and filled while published streams its rows: no base for it.
  ASSERT_OK(pg_->Psql("crm", "CREATE TABLE ul.born (id int PRIMARY KEY); "
                             "INSERT INTO ul.born SELECT generate_series(1, 5); "
                             "ALTER TABLE ul.born ADD COLUMN note text")
                .status());
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(StoredBases(), 4) << ReadFile(log);
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  ASSERT_EQ(stopped.exit_code, 0) << ReadFile(log);
  EXPECT_THAT(ReadFile(log), AllOf(HasSubstr("app.staged entered publication"),
                                   HasSubstr("ul.scratch entered publication"),
                                   HasSubstr("app.extra entered publication")));

  {
    SCOPED_TRACE("the end: every table equals the source");
    ASSERT_OK(pg_->CreateDatabase("at_end"));
    ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                         RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                    pg_->ConnInfo("at_end")}));
    ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
    ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
    ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "at_end"));
    EXPECT_EQ(FirstDifference(source, restored), "");
    ASSERT_OK_AND_ASSIGN(std::string staged,
                         pg_->Query("at_end", "SELECT count(*) FROM app.events WHERE region = "
                                              "'us'"));
    EXPECT_EQ(staged, "51");
  }
  {
    SCOPED_TRACE("between the ATTACH and the base it caused: refused, with the way out");
    ASSERT_OK(pg_->CreateDatabase("between"));
    ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                         RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                    pg_->ConnInfo("between"), "--to-lsn",
                                    after_attach.ToString()}));
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_THAT(restore.stderr_text,
                AllOf(HasSubstr("app.staged entered the publication"),
                      HasSubstr("restore to a point at or after it"),
                      HasSubstr("Nothing was written")));
  }
  {
    SCOPED_TRACE("before the entry: restorable from the first base");
    ASSERT_OK(pg_->CreateDatabase("before"));
    ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                         RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                    pg_->ConnInfo("before"), "--to-lsn",
                                    before_entry.ToString()}));
    EXPECT_EQ(restore.exit_code, 0) << restore.stderr_text;
    ASSERT_OK_AND_ASSIGN(std::string events,
                         pg_->Query("before", "SELECT count(*) FROM app.events"));
    EXPECT_EQ(events, "2");
  }
}

}  // namespace
}  // namespace walship::testing
