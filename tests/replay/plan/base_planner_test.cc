// Planning restores with base snapshots: base choice, the window, gaps and marks.
#include "replay/plan/base_planner.h"
#include "replay/plan/target_resolver.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::HasSubstr;

const sinks::StreamId kStream{"7301234567890123456", "walship"};
constexpr int64_t kT0 = 1795140003000000;  // 2026-11-20 02:00:03 UTC

CatalogBase Base(uint64_t lsn, int64_t time_us) {
  CatalogBase base;
  base.manifest.set_snapshot_lsn(lsn);
  base.manifest.set_snapshot_time_us(time_us);
  base.dir = "7301234567890123456/walship/base/" + Lsn(lsn).ToKey() + "/";
  base.manifest_key = base.dir + "manifest.pb";
  return base;
}

// A segment of transactions [first, last] (LSNs), previous segment ending at `previous`.
CatalogSegment Segment(uint64_t first, uint64_t last, uint64_t previous, int64_t t_first,
                       int64_t t_last, std::vector<v1::Mark> marks = {}) {
  CatalogSegment segment;
  segment.segment_key = "7301234567890123456/walship/wal/" + Lsn(first).ToKey() + ".seg";
  segment.trailer.set_first_commit_lsn(first);
  segment.trailer.set_last_commit_lsn(last);
  segment.trailer.set_last_end_lsn(last + 0x30);
  segment.trailer.set_previous_end_lsn(previous);
  segment.trailer.set_first_commit_time_us(t_first);
  segment.trailer.set_last_commit_time_us(t_last);
  segment.trailer.set_transaction_count(2);
  for (v1::Mark& mark : marks) *segment.trailer.add_marks() = mark;
  return segment;
}

v1::Mark Mark(const std::string& name, uint64_t lsn, int64_t time) {
  v1::Mark mark;
  mark.set_name(name);
  mark.set_commit_lsn(lsn);
  mark.set_commit_time_us(time);
  return mark;
}

class BasePlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bases_ = BaseCatalog::FromBases({Base(0x2000, kT0 + 1000), Base(0x1000, kT0)});
    std::vector<CatalogSegment> segments;
    segments.push_back(Segment(0x1100, 0x1800, 0, kT0 + 100, kT0 + 800));
    segments.push_back(Segment(0x1900, 0x2400, 0x1830, kT0 + 900, kT0 + 1400,
                               {Mark("before-upgrade", 0x2100, kT0 + 1100)}));
    segments.push_back(Segment(0x2500, 0x3000, 0x2430, kT0 + 1500, kT0 + 2000,
                               {Mark("twice", 0x2600, kT0 + 1600), Mark("twice", 0x2800, kT0 + 1800)}));
    ASSERT_OK_AND_ASSIGN(changes_, SegmentCatalog::Build(kStream, std::move(segments)));
  }
  RecoveryTarget Lsn_(uint64_t lsn) {
    RecoveryTarget t;
    t.kind = RecoveryTarget::Kind::kLsn;
    t.lsn = Lsn(lsn);
    return t;
  }
  RecoveryTarget Time(int64_t us) {
    RecoveryTarget t;
    t.kind = RecoveryTarget::Kind::kTime;
    t.time = absl::FromUnixMicros(us);
    return t;
  }
  BaseCatalog bases_;
  SegmentCatalog changes_;
};

TEST_F(BasePlannerTest, PicksTheLatestBaseAtOrBeforeTheTargetLsn) {
  ASSERT_OK_AND_ASSIGN(BaseRestorePlan before, PlanBaseRestore(bases_, changes_, Lsn_(0x1fff)));
  EXPECT_EQ(before.base.snapshot_lsn(), Lsn(0x1000));
  EXPECT_EQ(before.changes.first_commit_lsn, Lsn(0x1000));
  ASSERT_EQ(before.changes.segments.size(), 2u);  // the second starts before 0x1fff
  ASSERT_OK_AND_ASSIGN(BaseRestorePlan at, PlanBaseRestore(bases_, changes_, Lsn_(0x2000)));
  EXPECT_EQ(at.base.snapshot_lsn(), Lsn(0x2000));
  ASSERT_EQ(at.changes.segments.size(), 1u);  // the first segment ends before the base
  EXPECT_EQ(at.changes.segments[0].trailer.first_commit_lsn(), 0x1900u);
  EXPECT_EQ(at.changes.last_commit_lsn, Lsn(0x2000));
}

TEST_F(BasePlannerTest, PicksByTimeAndDefaultsToTheNewest) {
  ASSERT_OK_AND_ASSIGN(BaseRestorePlan plan, PlanBaseRestore(bases_, changes_, Time(kT0 + 999)));
  EXPECT_EQ(plan.base.snapshot_lsn(), Lsn(0x1000));
  ASSERT_OK_AND_ASSIGN(plan, PlanBaseRestore(bases_, changes_, Time(kT0 + 1700)));
  EXPECT_EQ(plan.base.snapshot_lsn(), Lsn(0x2000));
  EXPECT_EQ(plan.changes.segments.size(), 2u);
  ASSERT_OK_AND_ASSIGN(plan, PlanBaseRestore(bases_, changes_, RecoveryTarget()));
  EXPECT_EQ(plan.base.snapshot_lsn(), Lsn(0x2000));
  EXPECT_EQ(plan.changes.segments.size(), 2u);
}

TEST_F(BasePlannerTest, RefusesTargetsOutsideTheWindowAndSaysWhatItIs) {
  absl::StatusOr<BaseRestorePlan> early = PlanBaseRestore(bases_, changes_, Time(kT0 - 1000000));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(early.status().message(),
              HasSubstr("is outside the recovery window 2026-11-20 02:00:03 .. "));
  absl::StatusOr<BaseRestorePlan> late = PlanBaseRestore(bases_, changes_, Time(kT0 + 5000000));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<BaseRestorePlan> lsn = PlanBaseRestore(bases_, changes_, Lsn_(0xfff));
  EXPECT_THAT(lsn.status().message(), HasSubstr("target LSN 0/FFF is outside the recovery window"));
}

TEST_F(BasePlannerTest, NoCompleteBaseIsAClearError) {
  absl::StatusOr<BaseRestorePlan> plan =
      PlanBaseRestore(BaseCatalog::FromBases({}), changes_, RecoveryTarget());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(plan.status().message(), HasSubstr("no complete base snapshot"));
}

TEST_F(BasePlannerTest, RefusesAGapBetweenBaseAndTarget) {
  std::vector<CatalogSegment> segments;
  segments.push_back(Segment(0x1100, 0x1800, 0, kT0 + 100, kT0 + 800));
  segments.push_back(Segment(0x2500, 0x3000, 0x2430, kT0 + 1500, kT0 + 2000));  // 0x1830..0x2430 lost
  ASSERT_OK_AND_ASSIGN(SegmentCatalog gappy, SegmentCatalog::Build(kStream, std::move(segments)));
  absl::StatusOr<BaseRestorePlan> plan = PlanBaseRestore(bases_, gappy, Lsn_(0x2800));
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(plan.status().message(), HasSubstr("gap"));
  // Before the gap, from the first base: fine.
  EXPECT_OK(PlanBaseRestore(bases_, gappy, Lsn_(0x1800)).status());
}

TEST_F(BasePlannerTest, MarksResolveToTheirCommitLsn) {
  RecoveryTarget target;
  target.kind = RecoveryTarget::Kind::kMark;
  target.mark = "before-upgrade";
  ASSERT_OK_AND_ASSIGN(RecoveryTarget resolved, ResolveMarkTarget(changes_, target));
  EXPECT_EQ(resolved.kind, RecoveryTarget::Kind::kLsn);
  EXPECT_EQ(resolved.lsn, Lsn(0x2100));
}

TEST_F(BasePlannerTest, DuplicateMarkListsTheCandidates) {
  RecoveryTarget target;
  target.kind = RecoveryTarget::Kind::kMark;
  target.mark = "twice";
  absl::StatusOr<RecoveryTarget> resolved = ResolveMarkTarget(changes_, target);
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(resolved.status().message(), HasSubstr("written 2 times"));
  EXPECT_THAT(resolved.status().message(), HasSubstr("0/2600"));
  EXPECT_THAT(resolved.status().message(), HasSubstr("0/2800"));
}

TEST_F(BasePlannerTest, UnknownMarkListsTheStoredOnes) {
  RecoveryTarget target;
  target.kind = RecoveryTarget::Kind::kMark;
  target.mark = "nope";
  absl::StatusOr<RecoveryTarget> resolved = ResolveMarkTarget(changes_, target);
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(resolved.status().message(), HasSubstr("\"before-upgrade\" at 0/2100"));
}

TEST_F(BasePlannerTest, WindowRunsFromTheOldestBaseToTheLastChange) {
  RecoveryWindow window = ComputeWindow(bases_, changes_);
  EXPECT_EQ(window.earliest_lsn, Lsn(0x1000));
  EXPECT_EQ(window.latest_lsn, Lsn(0x3030));
  EXPECT_EQ(window.DescribeTimes(), "2026-11-20 02:00:03 .. 2026-11-20 02:00:03 UTC");
}

}  // namespace
}  // namespace walship::replay
