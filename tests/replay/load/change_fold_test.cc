// ChangeFold and FoldRunner over stored segments in memory: what folds, where the fold stops
// and why, and the relations a window changes read from index objects alone.
#include "replay/load/change_fold.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/event_names.h"
#include "replay/catalog/segment_catalog.h"
#include "replay/catalog/segment_records.h"
#include "replay/load/fold_runner.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using walship::testing::StatusIs;

class ChangeFoldTest : public ::testing::Test {
 protected:
  ChangeFoldTest() {
    deals_ = MakeRelation(16400, "deals", {{"id", 20, "int8", true}, {"note", 25, "text"}});
    audit_ = MakeRelation(16401, "audit", {{"line", 25, "text"}}, v1::REPLICA_IDENTITY_FULL);
    *manifest_.add_tables()->mutable_relation() = deals_;
    *manifest_.add_tables()->mutable_relation() = audit_;
  }

  // Stores the records built so far as one more segment.
  void Store() {
    v1::SegmentTrailer trailer;
    ASSERT_OK_AND_ASSIGN(trailer, StoreSegment(&store_, builder_.Take(), previous_end_));
    previous_end_ = trailer.last_end_lsn();
  }

  absl::StatusOr<RestorePlan> Plan(uint64_t last_commit_lsn = UINT64_MAX) {
    WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog, SegmentCatalog::Load(&store_, TestStream()));
    RestorePlan plan;
    plan.segments = catalog.segments();
    plan.last_commit_lsn = Lsn(last_commit_lsn);
    return plan;
  }

  absl::StatusOr<std::unique_ptr<ChangeFold>> Fold(FoldOptions options = {},
                                                   uint64_t last_commit_lsn = UINT64_MAX) {
    WALSHIP_ASSIGN_OR_RETURN(RestorePlan plan, Plan(last_commit_lsn));
    return ChangeFold::Build(&store_, plan, manifest_, options);
  }

  ::walship::testing::MemoryObjectStore store_;
  StreamBuilder builder_;
  uint64_t previous_end_ = 0;
  v1::Relation deals_, audit_;
  v1::BaseManifest manifest_;
};

TEST_F(ChangeFoldTest, FoldsTheWholeWindowAndSkipsWhatWasStoredTwice) {
  builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Insert(deals_.oid(), {"1", "a"});
  builder_.Message("walship", "mark:m");  // changes no rows
  builder_.Begin(11);
  builder_.Update(deals_.oid(), {"1", "b"});
  std::vector<v1::Record> first = builder_.Take();
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer trailer, StoreSegment(&store_, first, 0));
  // A segment written again after a crash: it repeats transaction 11, then goes on.
  builder_.Begin(12);
  builder_.Define(deals_);
  builder_.Insert(deals_.oid(), {"2", "c"});
  std::vector<v1::Record> second = {first[0], first.back()};
  for (const v1::Record& record : builder_.Take()) second.push_back(record);
  ASSERT_OK(StoreSegment(&store_, second, trailer.last_end_lsn() - 0x30).status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeFold> fold, Fold());
  EXPECT_TRUE(fold->complete());
  EXPECT_EQ(fold->stats().events, 4u);
  EXPECT_EQ(fold->stats().transactions, 3u);
  ASSERT_NE(fold->Table(proto::OidOf(deals_)), nullptr);
  EXPECT_EQ(fold->Table(proto::OidOf(audit_)), nullptr);
  std::string out;
  ASSERT_OK(fold->Table(proto::OidOf(deals_))->Remaining(&out).status());
  EXPECT_THAT(absl::StrSplit(out, '\n', absl::SkipEmpty()), UnorderedElementsAre("1\tb", "2\tc"));
}

TEST_F(ChangeFoldTest, StopsAtTheTargetAndSaysSo) {
  uint64_t first = builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Insert(deals_.oid(), {"1", "a"});
  builder_.Begin(11);
  builder_.Insert(deals_.oid(), {"2", "b"});
  Store();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeFold> fold, Fold({}, first));
  EXPECT_TRUE(fold->complete());
  EXPECT_TRUE(fold->stopped_at_target());
  EXPECT_EQ(fold->stats().events, 1u);
}

struct CutCase {
  const char* name;
  std::function<void(StreamBuilder*, const v1::Relation& deals, const v1::Relation& audit)> cut;
  const char* reason;
  bool deals_goes_on;  // the cut is not about deals: its later changes still fold
};

class ChangeFoldCutTest : public ChangeFoldTest, public ::testing::WithParamInterface<CutCase> {};

TEST_P(ChangeFoldCutTest, CutsWhatOnlyStatementsCanApplyAndNothingElse) {
  builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Define(audit_);
  builder_.Insert(deals_.oid(), {"1", "a"});
  uint64_t cut_lsn = builder_.Begin(11);
  builder_.Insert(deals_.oid(), {"2", "b"});  // folds: the cut comes in the middle
  GetParam().cut(&builder_, deals_, audit_);
  builder_.Insert(deals_.oid(), {"3", "c"});  // after the cut
  Store();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeFold> fold, Fold());
  EXPECT_FALSE(fold->complete());
  const EventPosition cut{Lsn(cut_lsn), 2};
  EXPECT_EQ(fold->start_at(), cut);
  EXPECT_THAT(fold->cut_reason(), HasSubstr(GetParam().reason));
  const bool goes_on = GetParam().deals_goes_on;
  EXPECT_EQ(fold->stats().events, goes_on ? 3u : 2u);
  // A cut of every table ends the reading: the Applier counts the transaction cut.
  EXPECT_EQ(fold->stats().transactions, fold->all_cut() ? 1u : 2u);
  EXPECT_EQ(fold->all_cut().has_value(), absl::StrContains(fold->cut_reason(), "every table from"));
  EXPECT_EQ(fold->Table(proto::OidOf(deals_))->size(), goes_on ? 3u : 2u);
  EXPECT_EQ(fold->TableFinal(proto::OidOf(deals_)), goes_on);
  // What the Applier skips from start_at on.
  std::vector<v1::Record> records;
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan());
  v1::Event last;
  ASSERT_OK(ForEachSegmentRecord(&store_, plan.segments[0], [&](const v1::Record& r) {
              if (r.has_event()) last = r.event();
              return true;
            }).status());
  EXPECT_EQ(fold->Folded(last), goes_on);
}

INSTANTIATE_TEST_SUITE_P(
    Cuts, ChangeFoldCutTest,
    ::testing::Values(
        CutCase{"UnreadableDdl",
                [](StreamBuilder* b, const v1::Relation&, const v1::Relation&) {
                  b->Message("walship.ddl", "{}");
                },
                "every table from commit LSN", false},
        CutCase{"DdlOfAType",
                [](StreamBuilder* b, const v1::Relation&, const v1::Relation&) {
                  b->Message("walship.ddl", R"({"format": 2, "tag": "ALTER TYPE",
                    "query": "ALTER TYPE stage RENAME VALUE 'a' TO 'b'", "search_path": "public",
                    "tables": []})");
                },
                "a schema change (ALTER TYPE)", false},
        CutCase{"DdlOfAnotherTable",
                [](StreamBuilder* b, const v1::Relation&, const v1::Relation&) {
                  b->Message("walship.ddl", R"({"format": 2, "tag": "ALTER TABLE",
                    "query": "ALTER TABLE audit ADD COLUMN x int", "search_path": "public",
                    "tables": [{"oid": 16401, "schema": "public", "table": "audit",
                                "dropped": false, "columns": [], "primary_key": [],
                                "replica_identity": "f"}]})");
                },
                "\"public.audit\" from commit LSN", true},
        CutCase{"AddedColumn",
                [](StreamBuilder* b, const v1::Relation& deals, const v1::Relation&) {
                  b->Define(MakeRelation(
                      deals.oid(), "deals",
                      {{"id", 20, "int8", true}, {"note", 25, "text"}, {"extra", 23, "int4"}}));
                  b->Insert(deals.oid(), {"9", "z", "1"});
                },
                "\"public.deals\" from commit LSN", false},
        CutCase{"TableNotInTheBase",
                [](StreamBuilder* b, const v1::Relation&, const v1::Relation&) {
                  v1::Relation later = MakeRelation(16500, "later", {{"id", 23, "int4", true}});
                  b->Define(later);
                  b->Insert(later.oid(), {"1"});
                },
                "\"public.later\"", true},
        CutCase{"ContradictoryChange",
                [](StreamBuilder* b, const v1::Relation& deals, const v1::Relation&) {
                  b->Insert(deals.oid(), {"1", "again"});  // key 1 is already there
                },
                "a INSERT that needs a statement", false}),
    [](const ::testing::TestParamInfo<CutCase>& info) { return info.param.name; });

// A TRUNCATE of tables that fold is folded: each folds anew without its base rows, and the
// Applier skips it. One naming a table already cut is the Applier's, and cuts the others.
TEST_F(ChangeFoldTest, ATruncateFoldsItsTablesAnewWithoutTheirBaseRows) {
  builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Define(audit_);
  builder_.Insert(deals_.oid(), {"2", "b"});
  builder_.Insert(audit_.oid(), {"x"});
  builder_.Begin(11);
  builder_.Truncate({deals_.oid(), audit_.oid()});
  builder_.Insert(deals_.oid(), {"1", "again"});  // the base's key 1, gone with the TRUNCATE
  builder_.Insert(audit_.oid(), {"y"});
  Store();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeFold> fold, Fold());
  EXPECT_TRUE(fold->complete());
  EXPECT_EQ(fold->stats().events, 5u);
  FoldedTable* deals = fold->Table(proto::OidOf(deals_));
  ASSERT_NE(deals, nullptr);
  std::string out;
  ASSERT_OK(deals->Overlay("1\ta\n3\tc\n", &out).status());
  ASSERT_OK(deals->Remaining(&out).status());
  EXPECT_EQ(out, "1\tagain\n");
  FoldedTable* audit = fold->Table(proto::OidOf(audit_));
  ASSERT_NE(audit, nullptr);
  out.clear();
  ASSERT_OK(audit->Overlay("x\nz\n", &out).status());
  ASSERT_OK(audit->Remaining(&out).status());
  EXPECT_EQ(out, "y\n");

  // A change the fold refuses cuts deals; its TRUNCATE after that is the Applier's.
  builder_.Begin(12);
  builder_.Define(deals_);
  builder_.Define(audit_);
  builder_.Insert(deals_.oid(), {"1", "twice"});
  uint64_t truncate_lsn = builder_.Begin(13);
  builder_.Truncate({deals_.oid(), audit_.oid()});
  Store();
  ASSERT_OK_AND_ASSIGN(fold, Fold());
  EXPECT_FALSE(fold->complete());
  EXPECT_FALSE(fold->TableFinal(proto::OidOf(deals_)));
  EXPECT_FALSE(fold->TableFinal(proto::OidOf(audit_)));
  EXPECT_THAT(fold->cut_reason(), HasSubstr("a TRUNCATE"));
  v1::Event truncate;
  truncate.set_op(v1::TRUNCATE);
  truncate.set_commit_lsn(truncate_lsn);
  truncate.set_sequence(1);
  truncate.mutable_truncate()->add_relations()->set_oid(deals_.oid());
  truncate.mutable_truncate()->add_relations()->set_oid(audit_.oid());
  EXPECT_FALSE(fold->Folded(truncate));
}

// A table the window only truncates still has a fold: the one that drops its base rows.
TEST_F(ChangeFoldTest, ATableOnlyTruncatedLoadsNoBaseRows) {
  builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Truncate({deals_.oid()});
  Store();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeFold> fold, Fold());
  EXPECT_TRUE(fold->complete());
  FoldedTable* deals = fold->Table(proto::OidOf(deals_));
  ASSERT_NE(deals, nullptr);
  std::string rows = "1\ta\n";
  ASSERT_OK(deals->OverlayInPlace(&rows).status());
  EXPECT_EQ(rows, "");
}

// The keyless REPLICA IDENTITY FULL table folds too, as a multiset, and a change the fold
// refuses there cuts only it.
TEST_F(ChangeFoldTest, AFullIdentityTableFoldsAndItsCutLeavesTheOthersFolding) {
  builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Define(audit_);
  builder_.Insert(audit_.oid(), {"x"});
  builder_.Insert(audit_.oid(), {"x"});
  builder_.Delete(audit_.oid(), {"x"});
  builder_.Insert(deals_.oid(), {"1", "a"});
  Store();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeFold> fold, Fold());
  EXPECT_TRUE(fold->complete());
  EXPECT_EQ(fold->stats().events, 4u);
  ASSERT_NE(fold->Table(proto::OidOf(audit_)), nullptr);
  EXPECT_TRUE(fold->Table(proto::OidOf(audit_))->multiset());
  std::string out;
  ASSERT_OK_AND_ASSIGN(uint64_t rows, fold->Table(proto::OidOf(audit_))->Remaining(&out));
  EXPECT_EQ(rows, 1u);
  EXPECT_EQ(out, "x\n");
}

TEST_F(ChangeFoldTest, StopsWhenTheMemoryBoundIsReached) {
  builder_.Begin(10);
  builder_.Define(deals_);
  for (int i = 0; i < 100; ++i) builder_.Insert(deals_.oid(), {std::to_string(i), "row"});
  Store();
  FoldOptions options;
  options.memory_limit_bytes = 2000;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeFold> fold, Fold(options));
  EXPECT_FALSE(fold->complete());
  EXPECT_GT(fold->stats().events, 0u);
  EXPECT_LT(fold->stats().events, 100u);
  ASSERT_TRUE(fold->all_cut().has_value());
  EXPECT_EQ(fold->start_at(), *fold->all_cut());
  EXPECT_EQ(fold->start_at().sequence, fold->stats().last_sequence + 1);
  EXPECT_EQ(fold->stats().transactions, 0u);  // the cut one is the Applier's to count
  EXPECT_THAT(fold->cut_reason(), HasSubstr("the folded changes reached"));
}

TEST_F(ChangeFoldTest, ACorruptSegmentIsAnErrorAndTheRunnerReportsIt) {
  builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Insert(deals_.oid(), {"1", "a"});
  Store();
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan());
  std::string key = plan.segments[0].segment_key;
  ASSERT_OK_AND_ASSIGN(std::string data, store_.Get(key));
  data[data.size() / 2] ^= 0x40;
  ASSERT_OK(store_.Delete(key));
  ASSERT_OK(store_.Put(key, data));
  FoldRunner runner(&store_, plan, manifest_, FoldOptions());
  EXPECT_THAT(runner.Wait(), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(runner.Wait(), StatusIs(absl::StatusCode::kDataLoss));  // again, same answer
}

TEST_F(ChangeFoldTest, ChangedRelationsComeFromTheIndexObjects) {
  builder_.Begin(10);
  builder_.Define(deals_);
  builder_.Insert(deals_.oid(), {"1", "a"});
  builder_.Message("walship", "mark:m");
  Store();
  builder_.Begin(11);
  builder_.Truncate({audit_.oid()});
  Store();
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan());
  std::optional<absl::flat_hash_set<RelationOid>> changed = ChangedRelations(plan);
  ASSERT_TRUE(changed.has_value());
  EXPECT_THAT(*changed, UnorderedElementsAre(proto::OidOf(deals_), proto::OidOf(audit_)));
  // A segment written before the list existed: unknown, so every table waits.
  plan.segments[1].trailer.clear_changed_relations_listed();
  EXPECT_FALSE(ChangedRelations(plan).has_value());
}

}  // namespace
}  // namespace walship::replay::testing
