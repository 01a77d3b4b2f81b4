// Free-standing sequences (no column owns them; PostgreSQL 15 does not decode them): the
// agent records their values in the stream, and a restore sets each past every value that a
// restored transaction used, from the first recording after the restored point, or from the
// last one plus --sequence-margin at the store's end. Owned sequences keep their rule.
#include <signal.h>

#include <cstdint>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Le;
using ::testing::Lt;
using ::testing::Gt;

constexpr char kSchema[] = R"sql(
CREATE SEQUENCE invoice_no;
CREATE SEQUENCE "Credit notes" INCREMENT BY -2 START WITH -10 MINVALUE -1000000 MAXVALUE -1;
CREATE SEQUENCE unused_no;
CREATE TABLE invoices (id int PRIMARY KEY, no bigint NOT NULL);
CREATE TABLE items (id serial PRIMARY KEY, note text);
SELECT nextval('invoice_no') FROM generate_series(1, 5);
INSERT INTO items (note) SELECT 'n' || g FROM generate_series(1, 3) g;
)sql";

class SequenceRestoreTest : public CrmStoreTest {
 protected:
  SequenceRestoreTest() : CrmStoreTest(kSchema) {}

  int64_t Next(const std::string& db, const std::string& sequence) {
    auto value = pg_->Query(db, absl::StrCat("SELECT nextval('", sequence, "')"));
    EXPECT_OK(value.status());
    int64_t n = 0;
    EXPECT_TRUE(value.ok() && absl::SimpleAtoi(*value, &n)) << value.status();
    return n;
  }

  // Restores onto a new empty database; returns replay's stderr.
  std::string Restore(const std::string& db, std::vector<std::string> extra) {
    EXPECT_OK(pg_->CreateDatabase(db));
    std::vector<std::string> args = {"restore", "--object-store", "file://" + store_,
                                     "--target", pg_->ConnInfo(db)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = RunReplay(args);
    EXPECT_OK(result.status());
    if (!result.ok()) return "";
    EXPECT_EQ(result->exit_code, 0) << result->stderr_text;
    return result->stderr_text;
  }

};

TEST_F(SequenceRestoreTest, FreeStandingSequencesContinuePastEveryValueUsed) {
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(
      auto agent,
      StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                  "file://" + store_, "--work-dir", work_, "--segment-max-ms", "50",
                  "--sequence-interval", "0.2"},
                 log));
  ASSERT_THAT(WaitForBase(store_, absl::Seconds(60)), IsOk()) << ReadFile(log);

  // Point 1: invoice 1 takes 6.
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO invoices VALUES (1, nextval('invoice_no'))").status());
  ASSERT_OK_AND_ASSIGN(Lsn point1, CurrentLsn(*pg_, "crm"));
  ASSERT_OK(WaitForSlot(*pg_, "crm", "walship", point1, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(1));  // a recording of 6 follows the group commit
  // Values drawn with no published change: only a later recording knows them.
  ASSERT_OK(pg_->Psql("crm", "SELECT nextval('invoice_no') FROM generate_series(1, 50); "
                             "SELECT nextval('\"Credit notes\"') FROM generate_series(1, 3);")
                .status());
  // Point 2: invoice 2 takes 57; "Credit notes" handed out -10, -12, -14.
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO invoices VALUES (2, nextval('invoice_no')); "
                             "INSERT INTO items (note) VALUES ('after')")
                .status());
  ASSERT_OK_AND_ASSIGN(Lsn point2, CurrentLsn(*pg_, "crm"));
  ASSERT_OK(WaitForSlot(*pg_, "crm", "walship", point2, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(1));
  // Drawn after the last published change: at the store's end only the margin covers them.
  ASSERT_OK(pg_->Psql("crm", "SELECT nextval('invoice_no') FROM generate_series(1, 7)").status());
  absl::SleepFor(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(30)));
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  ASSERT_EQ(stopped.exit_code, 0) << ReadFile(log);

  {
    SCOPED_TRACE("--to-lsn point 1: past 6, from a recording (no margin)");
    std::string out = Restore("at1", {"--to-lsn", point1.ToString(), "--fold-memory-mb", "0"});
    EXPECT_THAT(out, HasSubstr("first recording after the restored point"));
    EXPECT_THAT(Next("at1", "invoice_no"), AllOf(Gt(6), Le(58)));
    EXPECT_EQ(Next("at1", "unused_no"), 1);  // never called: as the base has it
  }
  {
    SCOPED_TRACE("--to-lsn point 2: past 57 and past the 50 drawn before it");
    std::string out = Restore("at2", {"--to-lsn", point2.ToString()});
    EXPECT_THAT(out, HasSubstr("first recording after the restored point"));
    EXPECT_THAT(Next("at2", "invoice_no"), AllOf(Ge(58), Le(65)));
    EXPECT_THAT(Next("at2", "\"Credit notes\""), AllOf(Lt(-14), Ge(-22)));
    EXPECT_EQ(Next("at2", "items_id_seq"), 5);  // owned: past the column's largest value
  }
  {
    SCOPED_TRACE("the store's end: the last recording plus the margin");
    std::string out = Restore("at_end", {});
    EXPECT_THAT(out, HasSubstr("plus 1000 increments"));
    int64_t next = Next("at_end", "invoice_no");
    EXPECT_THAT(next, AllOf(Ge(57 + 1000 + 1), Le(64 + 1000 + 1)));
    EXPECT_THAT(Next("at_end", "\"Credit notes\""), Le(-14 - 2000 - 2));
  }
  {
    SCOPED_TRACE("--sequence-margin 5");
    std::string out = Restore("at_end5", {"--sequence-margin", "5"});
    EXPECT_THAT(out, HasSubstr("plus 5 increments"));
    EXPECT_THAT(Next("at_end5", "invoice_no"), AllOf(Ge(57 + 5 + 1), Le(64 + 5 + 1)));
  }
}

}  // namespace
}  // namespace walship::testing
