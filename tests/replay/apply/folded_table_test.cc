// FoldedTable: the net effect of row changes laid over COPY text base rows, byte for byte.
#include "replay/apply/folded_table.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/apply/copy_text.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay::testing {
namespace {

using ::testing::HasSubstr;
using walship::testing::StatusIs;

// deals (id key, note, amount): the key is the first column.
v1::Relation Deals() {
  return MakeRelation(
      16400, "deals",
      {{"id", 20, "int8", true}, {"note", 25, "text"}, {"amount", 1700, "numeric"}});
}

class FoldedTableTest : public ::testing::Test {
 protected:
  v1::Event Event(v1::Operation op, const std::vector<V>& new_row,
                  const std::vector<V>& old_row = {}) {
    v1::Event event;
    event.set_op(op);
    event.set_commit_lsn(0x5000000 + 0x100 * ++sequence_);
    event.set_sequence(1);
    event.mutable_relation()->set_oid(16400);
    if (!new_row.empty()) *event.mutable_new_row() = MakeRow(new_row);
    if (!old_row.empty()) *event.mutable_old_row() = MakeRow(old_row);
    return event;
  }
  bool Insert(const std::vector<V>& row) { return table_.Fold(Event(v1::INSERT, row)); }
  bool Update(const std::vector<V>& row, const std::vector<V>& old_key = {}) {
    return table_.Fold(Event(v1::UPDATE, row, old_key));
  }
  bool Delete(const std::string& id) {
    return table_.Fold(Event(v1::DELETE, {}, {V(id), V::Null(), V::Null()}));
  }
  // Base rows through Overlay() then Remaining(): the COPY text the load would send.
  std::string Load(const std::vector<std::string>& chunks) {
    std::string out;
    uint64_t rows = 0;
    for (const std::string& chunk : chunks) {
      absl::StatusOr<uint64_t> kept = table_.Overlay(chunk, &out);
      EXPECT_OK(kept.status());
      rows += kept.value_or(0);
    }
    absl::StatusOr<uint64_t> added = table_.Remaining(&out);
    EXPECT_OK(added.status());
    rows += added.value_or(0);
    EXPECT_EQ(rows, static_cast<uint64_t>(std::count(out.begin(), out.end(), '\n')));
    return out;
  }

  FoldedTable table_{Deals()};
  int sequence_ = 0;
};

TEST_F(FoldedTableTest, DropsDeletedRowsReplacesUpdatedOnesAndAppendsInserts) {
  ASSERT_TRUE(Update({"2", "two v2", "2.50"}));
  ASSERT_TRUE(Delete("3"));
  ASSERT_TRUE(Insert({"9", V::Null(), "9.00"}));
  ASSERT_TRUE(Update({"9", "nine", "9.00"}));
  EXPECT_EQ(Load({"1\tone\t1.00\n2\ttwo\t2.00\n", "3\tthree\t3.00\n4\tfour\t4.00\n"}),
            "1\tone\t1.00\n2\ttwo v2\t2.50\n4\tfour\t4.00\n9\tnine\t9.00\n");
}

TEST_F(FoldedTableTest, InPlaceLeavesUntouchedChunksAsTheyAreAndRewritesTheOthers) {
  ASSERT_TRUE(Update({"2", "two v2", "2.50"}));
  ASSERT_TRUE(Delete("4"));
  std::string untouched = "1\tone\t1.00\n3\tthree\t3.00\n";
  const char* before = untouched.data();
  ASSERT_OK_AND_ASSIGN(uint64_t kept, table_.OverlayInPlace(&untouched));
  EXPECT_EQ(kept, 2u);
  EXPECT_EQ(untouched, "1\tone\t1.00\n3\tthree\t3.00\n");
  EXPECT_EQ(untouched.data(), before);  // not copied
  // Changed lines first, last and between; the last line without its newline gets one.
  std::string chunk = "2\ttwo\t2.00\n5\tfive\t5.00\n4\tfour\t4.00";
  ASSERT_OK_AND_ASSIGN(kept, table_.OverlayInPlace(&chunk));
  EXPECT_EQ(kept, 2u);
  EXPECT_EQ(chunk, "2\ttwo v2\t2.50\n5\tfive\t5.00\n");
  std::string no_newline = "6\tsix\t6.00";
  ASSERT_OK_AND_ASSIGN(kept, table_.OverlayInPlace(&no_newline));
  EXPECT_EQ(no_newline, "6\tsix\t6.00\n");
}

TEST_F(FoldedTableTest, DeleteThenInsertOfABaseKeyReplacesTheRow) {
  ASSERT_TRUE(Delete("1"));
  ASSERT_TRUE(Insert({"1", "again", "0.10"}));
  EXPECT_EQ(Load({"1\tone\t1.00\n"}), "1\tagain\t0.10\n");
}

TEST_F(FoldedTableTest, InsertThenDeleteLeavesNothing) {
  ASSERT_TRUE(Insert({"7", "x", "1"}));
  ASSERT_TRUE(Delete("7"));
  EXPECT_EQ(Load({"1\tone\t1.00\n"}), "1\tone\t1.00\n");
}

TEST_F(FoldedTableTest, UnchangedToastComesFromTheBaseRowOrTheWindowsEarlierImage) {
  ASSERT_TRUE(Update({"1", V::Toast(), "5.00"}));  // note from the base row
  ASSERT_TRUE(Update({"1", V::Toast(), "6.00"}));  // still from the base row
  ASSERT_TRUE(Insert({"5", "big\\value", "1.00"}));
  ASSERT_TRUE(Update({"5", V::Toast(), "2.00"}));  // from the inserted image
  EXPECT_EQ(Load({"1\tbase \\\\ note\\twith tab\t1.00\n"}),
            "1\tbase \\\\ note\\twith tab\t6.00\n5\tbig\\\\value\t2.00\n");
}

TEST_F(FoldedTableTest, AKeyChangeMovesTheRow) {
  ASSERT_TRUE(Update({"20", "moved", "1.00"}, {"2", V::Null(), V::Null()}));
  EXPECT_EQ(Load({"1\tone\t1.00\n2\ttwo\t2.00\n"}), "1\tone\t1.00\n20\tmoved\t1.00\n");
}

TEST_F(FoldedTableTest, WithoutBaseRowsItListsTheKeysFoundInPlaceAndTheFinalRows) {
  table_.set_whole_rows();
  ASSERT_FALSE(Update({"1", V::Toast(), "5.00"}));  // only the row before the batch has it
  ASSERT_TRUE(Update({"1", "one", "5.00"}));
  ASSERT_TRUE(Update({"1", V::Toast(), "6.00"}));  // from the batch's own image
  ASSERT_TRUE(Insert({"5", "five", "1.00"}));
  ASSERT_TRUE(Delete("5"));                                                   // never there
  ASSERT_TRUE(Update({"20", "moved", "1.00"}, {"2", V::Null(), V::Null()}));  // 2 goes
  ASSERT_TRUE(Delete("3"));
  ASSERT_TRUE(Insert({"3", "again", "3.00"}));
  std::vector<std::string> keys, rows;
  ASSERT_OK(table_.ForEachChange(
      [&](absl::string_view key) {
        keys.emplace_back(key);
        return absl::OkStatus();
      },
      [&](absl::string_view row) {
        rows.emplace_back(row);
        return absl::OkStatus();
      }));
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre("1", "2", "3"));
  EXPECT_THAT(rows,
              ::testing::UnorderedElementsAre("1\tone\t6.00", "20\tmoved\t1.00", "3\tagain\t3.00"));
  FoldedTable overlaid(Deals());  // a table folded for a base overlay has no such list
  EXPECT_THAT(overlaid.ForEachChange([](absl::string_view) { return absl::OkStatus(); },
                                     [](absl::string_view) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kInternal));
}

TEST_F(FoldedTableTest, KeysCompareAsCopyTextWhateverTheyHold) {
  // A text key holding every character COPY TO escapes, and a key that only differs from
  // another by a byte COPY leaves alone.
  v1::Relation tags = MakeRelation(16401, "tags", {{"k", 25, "text", true}, {"v", 23, "int4"}});
  FoldedTable table(tags);
  std::string nasty = std::string("a\\b\tc\nd\re\bf\fg\vh") + '\x01';
  v1::Event update;
  update.set_op(v1::UPDATE);
  *update.mutable_new_row() = MakeRow({V(nasty), "2"});
  ASSERT_TRUE(table.Fold(update));
  std::string escaped;
  AppendCopyText(nasty, &escaped);
  EXPECT_EQ(escaped, "a\\\\b\\tc\\nd\\re\\bf\\fg\\vh\x01");
  std::string out;
  ASSERT_OK(table.Overlay(escaped + "\t1\nother\t3\n", &out).status());
  ASSERT_OK(table.Remaining(&out).status());
  EXPECT_EQ(out, escaped + "\t2\nother\t3\n");
}

TEST_F(FoldedTableTest, FindsAKeyThatIsNotTheFirstColumn) {
  v1::Relation links = MakeRelation(
      16402, "links",
      {{"note", 25, "text"}, {"a", 23, "int4", true}, {"x", 25, "text"}, {"b", 23, "int4", true}});
  FoldedTable table(links);
  v1::Event del;
  del.set_op(v1::DELETE);
  *del.mutable_old_row() = MakeRow({V::Null(), "1", V::Null(), "2"});
  ASSERT_TRUE(table.Fold(del));
  std::string out;
  ASSERT_OK(table.Overlay("n\t1\tx\t2\nn\t1\tx\t3\nn\t12\tx\t\n", &out).status());
  ASSERT_OK(table.Remaining(&out).status());
  EXPECT_EQ(out, "n\t1\tx\t3\nn\t12\tx\t\n");
}

TEST_F(FoldedTableTest, RefusesWhatOnlyAStatementCanSettleAndChangesNothing) {
  ASSERT_TRUE(Insert({"5", "five", "5.00"}));
  ASSERT_TRUE(Delete("6"));
  EXPECT_FALSE(Insert({"5", "dup", "1"}));                                     // key held
  EXPECT_FALSE(Update({"6", "gone", "1"}));                                    // key deleted
  EXPECT_FALSE(Delete("6"));                                                   // deleted twice
  EXPECT_FALSE(Update({"50", V::Toast(), "1"}, {"7", V::Null(), V::Null()}));  // needs base
  EXPECT_FALSE(Update({"5", "x", "1"}, {"8", V::Null(), V::Null()}));          // onto a held key
  EXPECT_FALSE(Insert({V::Null(), "null key", "1"}));
  EXPECT_FALSE(Insert({"1", "short"}));  // wrong width
  EXPECT_FALSE(Insert({"1", V::Toast(), "1"}));
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_EQ(Load({"6\tsix\t6.00\n7\tseven\t7.00\n"}), "7\tseven\t7.00\n5\tfive\t5.00\n");
}

TEST_F(FoldedTableTest, AnInsertedKeyFoundInTheBaseIsDataLoss) {
  ASSERT_TRUE(Insert({"1", "again", "1"}));
  std::string out;
  EXPECT_THAT(table_.Overlay("1\tone\t1.00\n", &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("already in the base snapshot")));
}

TEST_F(FoldedTableTest, AChangedRowMissingFromTheBaseIsDataLossNamingTheEvent) {
  ASSERT_TRUE(Update({"42", "x", "1"}));
  std::string out;
  ASSERT_OK(table_.Overlay("1\tone\t1.00\n", &out).status());
  absl::StatusOr<uint64_t> rest = table_.Remaining(&out);
  EXPECT_THAT(rest, StatusIs(absl::StatusCode::kDataLoss,
                             HasSubstr("UPDATE of \"public.deals\" at commit LSN 0/5000100")));
  EXPECT_THAT(rest.status().message(), HasSubstr("(id)=(42)"));
}

TEST_F(FoldedTableTest, ABaseKeyTwiceOrAShortLineIsDataLoss) {
  ASSERT_TRUE(Delete("1"));
  std::string out;
  EXPECT_THAT(table_.Overlay("1\tone\t1.00\n1\tone\t1.00\n", &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("twice")));
  FoldedTable second(MakeRelation(16403, "t", {{"a", 25, "text"}, {"k", 23, "int4", true}}));
  v1::Event del;
  del.set_op(v1::DELETE);
  *del.mutable_old_row() = MakeRow({V::Null(), "1"});
  ASSERT_TRUE(second.Fold(del));
  EXPECT_THAT(second.Overlay("only-one-field\n", &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("fewer than its key needs")));
}

// Spilled row images come back byte for byte: in the overlay, for the rows the window adds,
// and for a later unchanged-TOAST update that needs the spilled image's values.
TEST_F(FoldedTableTest, SpilledRowsComeBackAsTheyWere) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LineSpill> spill, LineSpill::Create());
  spill->set_spilling(true);
  FoldedTable spilled(Deals(), spill.get());
  const std::string big(100, 'b'), other(70, 'o');
  auto fold_both = [&](const v1::Event& event) {
    ASSERT_TRUE(table_.Fold(event));
    ASSERT_TRUE(spilled.Fold(event));
  };
  fold_both(Event(v1::INSERT, {"7", V(big), "1.00"}));
  fold_both(Event(v1::UPDATE, {"7", V::Toast(), "2.00"}));  // the note comes from the spill
  fold_both(Event(v1::UPDATE, {"2", V(other), "3.00"}));    // a base row
  fold_both(Event(v1::INSERT, {"8", "short", "4.00"}));     // too short to spill
  ASSERT_OK(spill->Flush());
  EXPECT_GT(spill->bytes(), big.size() + other.size());
  EXPECT_LT(spilled.memory_bytes(), table_.memory_bytes());
  const std::string base = "1\ta\t1\n2\tb\t2\n";
  std::string expected = Load({base});
  std::string out;
  ASSERT_OK(spilled.Overlay(base, &out).status());
  ASSERT_OK(spilled.Remaining(&out).status());
  // The rows the window adds come in hash order, which may differ between two tables.
  auto lines = [](const std::string& text) {
    std::vector<std::string> all = absl::StrSplit(text, '\n');
    std::sort(all.begin(), all.end());
    return all;
  };
  EXPECT_EQ(lines(out), lines(expected));
  EXPECT_THAT(out, HasSubstr(absl::StrCat("7\t", big, "\t2.00\n")));
}

// A table under REPLICA IDENTITY FULL folds as a multiset of whole rows: equal rows are
// interchangeable, so the window's net effect is a count per row text.
TEST_F(FoldedTableTest, FullIdentityTablesFoldAsMultisetsOfRows) {
  FoldedTable audit(MakeRelation(16401, "audit", {{"who", 25, "text"}, {"body", 25, "text"}},
                                 v1::REPLICA_IDENTITY_FULL));
  EXPECT_TRUE(audit.multiset());
  auto fold = [&](v1::Operation op, const std::vector<V>& new_row, const std::vector<V>& old_row) {
    v1::Event event;
    event.set_op(op);
    if (!new_row.empty()) *event.mutable_new_row() = MakeRow(new_row);
    if (!old_row.empty()) *event.mutable_old_row() = MakeRow(old_row);
    return audit.Fold(event);
  };
  ASSERT_TRUE(fold(v1::INSERT, {"ann", "x"}, {}));
  ASSERT_TRUE(fold(v1::INSERT, {"ann", "x"}, {}));                    // the same row twice
  ASSERT_TRUE(fold(v1::UPDATE, {"bo", V::Toast()}, {"bob", "big"}));  // a base row; body kept
  ASSERT_TRUE(fold(v1::DELETE, {}, {"cat", "c"}));                    // one of two in the base
  ASSERT_TRUE(fold(v1::DELETE, {}, {"ann", "x"}));                    // one the window added
  ASSERT_TRUE(fold(v1::UPDATE, {"dan", "d"}, {"dan", "d"}));          // changes nothing
  EXPECT_FALSE(fold(v1::INSERT, {"eve", V::Toast()}, {}));            // no value to take
  EXPECT_FALSE(fold(v1::DELETE, {}, {}));                             // no row named
  std::string out;
  ASSERT_OK_AND_ASSIGN(uint64_t kept, audit.Overlay("bob\tbig\ncat\tc\ndan\td\n", &out));
  ASSERT_OK_AND_ASSIGN(uint64_t more, audit.Overlay("cat\tc\n", &out));
  ASSERT_OK_AND_ASSIGN(uint64_t added, audit.Remaining(&out));
  EXPECT_EQ(kept + more + added, 4u);
  std::vector<std::string> rows = absl::StrSplit(out, '\n', absl::SkipEmpty());
  EXPECT_THAT(rows, ::testing::UnorderedElementsAre("cat\tc", "dan\td", "bo\tbig", "ann\tx"));

  // Taking away a row the base does not hold is the stream contradicting the base.
  FoldedTable keyless(
      MakeRelation(16402, "log", {{"line", 25, "text"}}, v1::REPLICA_IDENTITY_FULL));
  v1::Event gone;
  gone.set_op(v1::DELETE);
  *gone.mutable_old_row() = MakeRow({"never"});
  ASSERT_TRUE(keyless.Fold(gone));
  std::string none;
  ASSERT_OK(keyless.Overlay("other\n", &none).status());
  EXPECT_THAT(keyless.Remaining(&none),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("1 more copies of the row (never)")));
}

// A keyless table under the default identity publishes inserts only; they fold as rows.
TEST_F(FoldedTableTest, KeylessTablesFoldTheirInserts) {
  FoldedTable log(MakeRelation(16403, "log", {{"line", 25, "text"}}));
  EXPECT_TRUE(log.multiset());
  v1::Event insert;
  insert.set_op(v1::INSERT);
  *insert.mutable_new_row() = MakeRow({"a"});
  ASSERT_TRUE(log.Fold(insert));
  v1::Event update;
  update.set_op(v1::UPDATE);
  *update.mutable_new_row() = MakeRow({"b"});
  EXPECT_FALSE(log.Fold(update));  // no old row: which row is unknown
  EXPECT_FALSE(FoldedTable(Deals()).multiset());
}

}  // namespace
}  // namespace walship::replay::testing
