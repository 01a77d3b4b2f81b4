// The applier's COPY fast path for consecutive INSERTs: same rows as one INSERT statement
// per row (tabs, newlines, backslashes, a literal "\N", empty string vs NULL), and its speed.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "replay/apply/applier.h"
#include "replay/load/base_loader.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/replay/replay_test_util.h"

namespace walship::replay::testing {
namespace {

class ApplierCopyTest : public ReplayPgTest {
 protected:
  // Applies `rows` inserts (and an update in the middle, which ends a batch); returns seconds.
  double ApplyInto(const std::string& db, uint64_t copy_batch_rows, int rows) {
    Sql(db, "CREATE TABLE notes (id int PRIMARY KEY, body text, extra text)");
    std::unique_ptr<agent::pg::PgConnection> conn = Connect(db);
    v1::Relation notes = MakeRelation(16500, "notes", {{"id", 23, "int4", true},
                                                       {"body", 25, "text"},
                                                       {"extra", 25, "text"}});
    StreamBuilder stream;
    for (int i = 1; i <= rows; ++i) {
      if (i % 100 == 1) {
        stream.Begin(1000 + i);
        if (i == 1) stream.Define(notes);
      }
      std::string body = absl::StrCat("line ", i, "\twith tab\nand newline \\ backslash \\N");
      stream.Insert(16500, {absl::StrCat(i), body, i % 3 == 0 ? V::Null() : V(i % 3 == 1 ? "" : "\\N")});
      if (i == rows / 2) stream.Update(16500, {absl::StrCat(i), "updated", V::Null()});
    }
    ApplierOptions options;
    options.copy_batch_rows = copy_batch_rows;
    Applier applier(conn.get(), options);
    applier.BeginSegment();
    absl::Time start = absl::Now();
    for (const v1::Record& record : stream.Take()) {
      if (record.has_relation_def()) {
        EXPECT_OK(applier.DefineRelation(record.relation_def()));
      } else {
        EXPECT_OK(applier.Apply(record.event()));
      }
    }
    EXPECT_OK(applier.Finish());
    return absl::ToDoubleSeconds(absl::Now() - start);
  }
};

TEST_F(ApplierCopyTest, CopyBatchesEqualStatementsAndAreFaster) {
  constexpr int kRows = 20000;
  std::string by_copy = NewDatabase();
  std::string by_statement = NewDatabase();
  double copy_seconds = ApplyInto(by_copy, 5000, kRows);
  double statement_seconds = ApplyInto(by_statement, 0, kRows);
  // Row text holds newlines: compare whole tables by their checksum.
  EXPECT_EQ(Value(by_copy, "SELECT count(*) FROM notes"), "20000");
  EXPECT_EQ(Value(by_copy, TableChecksumSql("notes")), Value(by_statement, TableChecksumSql("notes")));
  EXPECT_EQ(Value(by_copy, "SELECT body FROM notes WHERE id = 10000"), "updated");
  EXPECT_EQ(Value(by_copy, "SELECT count(*) FROM notes WHERE extra IS NULL"), "6667");
  EXPECT_EQ(Value(by_copy, "SELECT count(*) FROM notes WHERE extra = '\\N'"), "6667");
  EXPECT_EQ(Value(by_copy, "SELECT count(*) FROM notes WHERE body LIKE E'%\\t%\\n%\\\\\\\\ %'"),
            "19999");
  RecordProperty("copy_seconds", absl::StrCat(copy_seconds));
  RecordProperty("statement_seconds", absl::StrCat(statement_seconds));
  std::printf("20000 inserts: COPY batches %.2fs, one statement each %.2fs\n", copy_seconds,
              statement_seconds);
  EXPECT_LT(copy_seconds, statement_seconds);
}

}  // namespace
}  // namespace walship::replay::testing
