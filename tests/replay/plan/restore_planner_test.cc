// Tests for PlanRestore over catalogs loaded from an in-memory store: every target kind,
// gaps refused, overlapping segments, and that planning reads index objects only.
#include "replay/plan/restore_planner.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/catalog/segment_catalog.h"
#include "tests/testing/memory_object_store.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::walship::testing::MemoryObjectStore;
using ::walship::replay::testing::MakeRelation;
using ::walship::replay::testing::StoreSegment;
using ::walship::replay::testing::StreamBuilder;
using ::walship::replay::testing::TestStream;
using ::walship::testing::StatusIs;

// Three segments of two transactions each (xids 100..105); segment `skip` (if any) is not
// stored, leaving a gap.
class PlannerTest : public ::testing::Test {
 protected:
  void Build(int skip = -1) {
    v1::Relation relation = MakeRelation(16384, "deals", {{"id", 20, "int8", true}});
    uint64_t previous_end = 0;
    for (int s = 0; s < 3; ++s) {
      builder_.Define(relation);
      for (int t = 0; t < 2; ++t) {
        uint32_t xid = 100 + s * 2 + t;
        commits_.push_back(builder_.Begin(xid));
        builder_.Insert(16384, {std::to_string(xid)});
      }
      std::vector<v1::Record> records = builder_.Take();
      if (s == skip) {
        previous_end = commits_.back() + 0x30;
        continue;
      }
      ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer trailer,
                           StoreSegment(&store_, records, previous_end));
      previous_end = trailer.last_end_lsn();
    }
  }
  absl::StatusOr<RestorePlan> Plan(const RecoveryTarget& target) {
    absl::StatusOr<SegmentCatalog> catalog = SegmentCatalog::Load(&store_, TestStream());
    if (!catalog.ok()) return catalog.status();
    return PlanRestore(*catalog, target);
  }
  static RecoveryTarget Lsn(uint64_t lsn) {
    RecoveryTarget target;
    target.kind = RecoveryTarget::Kind::kLsn;
    target.lsn = walship::Lsn(lsn);
    return target;
  }

  MemoryObjectStore store_;
  StreamBuilder builder_;
  std::vector<uint64_t> commits_;
};

TEST_F(PlannerTest, EverythingTakesEverySegmentWithoutReadingAny) {
  Build();
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan(RecoveryTarget{}));
  ASSERT_EQ(plan.segments.size(), 3u);
  EXPECT_EQ(plan.segments[0].trailer.first_commit_lsn(), commits_[0]);
  EXPECT_EQ(plan.segments[2].trailer.last_commit_lsn(), commits_[5]);
  EXPECT_EQ(plan.last_commit_lsn, walship::Lsn::Max());
  EXPECT_EQ(store_.reads_containing("/wal/"), 0);
  EXPECT_EQ(store_.reads_containing("/index/"), 3);
}

TEST_F(PlannerTest, ToLsnKeepsSegmentsUpToTheTarget) {
  Build();
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan(Lsn(commits_[2])));
  EXPECT_EQ(plan.segments.size(), 2u);
  EXPECT_EQ(plan.last_commit_lsn.value(), commits_[2]);
  ASSERT_OK_AND_ASSIGN(plan, Plan(Lsn(commits_[1] + 1)));
  EXPECT_EQ(plan.segments.size(), 1u);
}

TEST_F(PlannerTest, ToLsnBeforeTheFirstTransactionIsRefused) {
  Build();
  EXPECT_THAT(Plan(Lsn(commits_[0] - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("before the oldest")));
}

TEST_F(PlannerTest, ToTimeStopsAfterTheLastTransactionAtOrBeforeIt) {
  Build();
  RecoveryTarget target;
  target.kind = RecoveryTarget::Kind::kTime;
  target.time = absl::FromUnixMicros(builder_.TimeOf(commits_[3]) + 1);
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan(target));
  EXPECT_EQ(plan.segments.size(), 2u);
  EXPECT_EQ(plan.last_commit_time_us, builder_.TimeOf(commits_[3]) + 1);
  EXPECT_EQ(plan.last_commit_lsn, walship::Lsn::Max());
}

TEST_F(PlannerTest, ToXidFindsCandidatesAndBoundsInclusiveOrExclusive) {
  Build();
  RecoveryTarget target;
  target.kind = RecoveryTarget::Kind::kXid;
  target.xid = Xid(103);
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan(target));
  EXPECT_THAT(plan.xid_candidates, ElementsAre(1u));
  RestorePlan inclusive = BoundXidPlan(plan, walship::Lsn(commits_[3]));
  EXPECT_EQ(inclusive.last_commit_lsn.value(), commits_[3]);
  EXPECT_EQ(inclusive.segments.size(), 2u);
  plan.target.exclusive = true;
  RestorePlan exclusive = BoundXidPlan(plan, walship::Lsn(commits_[2]));
  EXPECT_EQ(exclusive.last_commit_lsn.value(), commits_[2] - 1);
  EXPECT_EQ(exclusive.segments.size(), 1u);
}

TEST_F(PlannerTest, XidOutsideTheWindowIsRefused) {
  Build();
  RecoveryTarget target;
  target.kind = RecoveryTarget::Kind::kXid;
  target.xid = Xid(99);
  EXPECT_THAT(Plan(target), StatusIs(absl::StatusCode::kInvalidArgument,
                                     AllOf(HasSubstr("xid 99"), HasSubstr("100 to 105"))));
}

TEST_F(PlannerTest, GapIsRefusedWithItsRangeAndNeighbours) {
  Build(/*skip=*/1);
  ASSERT_OK_AND_ASSIGN(SegmentCatalog catalog, SegmentCatalog::Load(&store_, TestStream()));
  ASSERT_EQ(catalog.gaps().size(), 1u);
  EXPECT_EQ(catalog.gaps()[0].from.value(), commits_[1] + 0x30);
  EXPECT_EQ(catalog.gaps()[0].to.value(), commits_[3] + 0x30);
  std::string from = walship::Lsn(commits_[1] + 0x30).ToString();
  std::string to = walship::Lsn(commits_[3] + 0x30).ToString();
  EXPECT_THAT(Plan(RecoveryTarget{}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("gap"), HasSubstr(from), HasSubstr(to),
                             HasSubstr(catalog.segments()[0].segment_key),
                             HasSubstr(catalog.segments()[1].segment_key))));
  // Before the gap is fine; a target inside it is not.
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan(Lsn(commits_[1])));
  EXPECT_EQ(plan.segments.size(), 1u);
  EXPECT_THAT(Plan(Lsn(commits_[2])), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PlannerTest, MissingStartOfStreamIsAGap) {
  Build(/*skip=*/0);
  EXPECT_THAT(Plan(RecoveryTarget{}), StatusIs(absl::StatusCode::kFailedPrecondition,
                                               HasSubstr("the start of the stream")));
}

TEST_F(PlannerTest, OverlappingSegmentIsKeptAndNotAGap) {
  Build();
  // A segment repeating the second segment's first transaction, as after a crash.
  ASSERT_OK_AND_ASSIGN(SegmentCatalog before, SegmentCatalog::Load(&store_, TestStream()));
  StreamBuilder again(commits_[2]);
  again.Define(MakeRelation(16384, "deals", {{"id", 20, "int8", true}}));
  again.Begin(102);
  again.Insert(16384, {"102"});
  ASSERT_OK(
      StoreSegment(&store_, again.Take(), before.segments()[0].trailer.last_end_lsn()).status());
  ASSERT_OK_AND_ASSIGN(SegmentCatalog catalog, SegmentCatalog::Load(&store_, TestStream()));
  EXPECT_TRUE(catalog.gaps().empty());
  EXPECT_EQ(catalog.segments().size() + catalog.redundant_count(), 4u);
  EXPECT_EQ(catalog.overlap_count() + catalog.redundant_count(), 1u);
  ASSERT_OK_AND_ASSIGN(RestorePlan plan, Plan(RecoveryTarget{}));
  EXPECT_EQ(plan.segments.back().trailer.last_commit_lsn(), commits_[5]);
}

TEST_F(PlannerTest, EmptyStoreIsRefused) {
  EXPECT_THAT(Plan(RecoveryTarget{}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PlannerTest, MalformedIndexObjectIsDataLoss) {
  Build();
  ASSERT_OK(store_.Put(sinks::SegmentIndexKey(TestStream(), walship::Lsn(0xFFFFFFFF)), "junk"));
  EXPECT_THAT(Plan(RecoveryTarget{}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("00000000FFFFFFFF.idx")));
}

}  // namespace
}  // namespace walship::replay
