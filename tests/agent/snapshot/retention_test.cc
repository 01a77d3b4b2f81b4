// PlanRetention (pure) and the store operations: ListStoreContents, ApplyRetention,
// CleanIncompleteBases against a local-directory store.
#include "agent/snapshot/retention.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);
const sinks::StreamId kStream{"7300000000000000001", "walship"};

StoredBase Base(uint64_t lsn, absl::Duration age) {
  StoredBase base;
  base.snapshot_lsn = Lsn(lsn);
  base.snapshot_time = kNow - age;
  base.complete = true;
  base.keys = {sinks::BaseSegmentKey(kStream, Lsn(lsn), "public", "t", 0),
               sinks::BaseManifestKey(kStream, Lsn(lsn))};
  return base;
}

StoredSegmentObject Wal(uint64_t first, uint64_t last_end) {
  return {sinks::WalSegmentKey(kStream, Lsn(first), Lsn(last_end)), Lsn(last_end)};
}
StoredSegmentObject Index(uint64_t last_end) {
  return {sinks::SegmentIndexKey(kStream, Lsn(last_end)), Lsn(last_end)};
}

// Bases at LSN 100, 200, 300, 400 taken 4, 3, 2, 1 days ago; segments in between.
StoreContents FourDailyBases() {
  StoreContents contents;
  contents.bases = {Base(100, absl::Hours(96)), Base(200, absl::Hours(72)),
                    Base(300, absl::Hours(48)), Base(400, absl::Hours(24))};
  for (uint64_t end : {50, 150, 199, 200, 250, 350, 450}) {
    contents.segments.push_back(Wal(end - 10, end));
    contents.segments.push_back(Index(end));
  }
  return contents;
}

std::set<uint64_t> DeletedBases(const RetentionPlan& plan) {
  std::set<uint64_t> out;
  for (Lsn lsn : plan.deleted_bases) out.insert(lsn.value());
  return out;
}

std::set<uint64_t> DeletedSegmentEnds(const RetentionPlan& plan) {
  std::set<uint64_t> out;
  for (const std::string& key : plan.delete_keys) {
    if (auto wal = sinks::ParseWalSegmentKey(key)) out.insert(wal->last_end.value());
    if (auto idx = sinks::ParseSegmentIndexKey(key)) out.insert(idx->value());
  }
  return out;
}

TEST(RetentionTest, NoPolicyDeletesNothing) {
  RetentionPlan plan = PlanRetention(FourDailyBases(), RetentionPolicy{}, kNow);
  EXPECT_THAT(plan.delete_keys, IsEmpty());
  EXPECT_EQ(plan.oldest_kept_base, Lsn(100));
}

TEST(RetentionTest, CountOnly) {
  RetentionPolicy policy;
  policy.retain_base = 2;
  RetentionPlan plan = PlanRetention(FourDailyBases(), policy, kNow);
  EXPECT_THAT(DeletedBases(plan), ElementsAre(100, 200));
  EXPECT_EQ(plan.oldest_kept_base, Lsn(300));
  // Every segment that ends before the oldest kept base; the one ending at 350 spans it.
  EXPECT_THAT(DeletedSegmentEnds(plan), ElementsAre(50, 150, 199, 200, 250));
}

TEST(RetentionTest, DaysOnlyKeepsTheBaseBeforeTheWindow) {
  RetentionPolicy policy;
  policy.retain_for = absl::Hours(60);  // window starts 2.5 days ago
  RetentionPlan plan = PlanRetention(FourDailyBases(), policy, kNow);
  // Bases 300 and 400 are inside; 200 (3 days old) is needed to restore to the window's
  // first instant; only 100 goes.
  EXPECT_THAT(DeletedBases(plan), ElementsAre(100));
  EXPECT_EQ(plan.oldest_kept_base, Lsn(200));
  EXPECT_THAT(DeletedSegmentEnds(plan), ElementsAre(50, 150, 199));
}

TEST(RetentionTest, BothKeepWhatEitherNeeds) {
  RetentionPolicy policy;
  policy.retain_base = 3;
  policy.retain_for = absl::Hours(12);  // would keep only the newest
  RetentionPlan plan = PlanRetention(FourDailyBases(), policy, kNow);
  EXPECT_THAT(DeletedBases(plan), ElementsAre(100));

  policy.retain_base = 1;
  policy.retain_for = absl::Hours(80);  // window starts 3.3 days ago: keeps 100 too
  plan = PlanRetention(FourDailyBases(), policy, kNow);
  EXPECT_THAT(DeletedBases(plan), IsEmpty());
  EXPECT_THAT(DeletedSegmentEnds(plan), ElementsAre(50));
}

TEST(RetentionTest, NewestBaseIsNeverDeleted) {
  RetentionPolicy policy;
  policy.retain_for = absl::Hours(1);  // every base is older than the window
  RetentionPlan plan = PlanRetention(FourDailyBases(), policy, kNow);
  EXPECT_THAT(DeletedBases(plan), ElementsAre(100, 200, 300));
  EXPECT_EQ(plan.oldest_kept_base, Lsn(400));
  // Segments ending after the newest base (450) stay.
  EXPECT_EQ(DeletedSegmentEnds(plan).count(450), 0u);
  EXPECT_EQ(DeletedSegmentEnds(plan).count(350), 1u);
}

TEST(RetentionTest, IncompleteBasesAreIgnored) {
  StoreContents contents = FourDailyBases();
  StoredBase partial = Base(500, absl::Hours(1));
  partial.complete = false;
  partial.keys.pop_back();  // no manifest
  contents.bases.push_back(partial);
  RetentionPolicy policy;
  policy.retain_base = 1;
  RetentionPlan plan = PlanRetention(contents, policy, kNow);
  // The newest COMPLETE base (400) is kept; the incomplete one is neither counted nor
  // deleted.
  EXPECT_THAT(DeletedBases(plan), ElementsAre(100, 200, 300));
  EXPECT_EQ(plan.oldest_kept_base, Lsn(400));
  for (const std::string& key : plan.delete_keys) {
    EXPECT_EQ(key.find("base/00000000000001F4"), std::string::npos) << key;
  }
}

TEST(RetentionTest, NoCompleteBaseDeletesNoSegment) {
  StoreContents contents = FourDailyBases();
  for (StoredBase& base : contents.bases) base.complete = false;
  RetentionPolicy policy;
  policy.retain_base = 1;
  EXPECT_THAT(PlanRetention(contents, policy, kNow).delete_keys, IsEmpty());
}

TEST(RetentionTest, ManifestsGoFirstAndIndexesBeforeSegments) {
  RetentionPolicy policy;
  policy.retain_base = 1;
  RetentionPlan plan = PlanRetention(FourDailyBases(), policy, kNow);
  ASSERT_FALSE(plan.delete_keys.empty());
  EXPECT_EQ(plan.delete_keys.front(), sinks::BaseManifestKey(kStream, Lsn(100)));
  size_t last_index = 0, first_wal = plan.delete_keys.size();
  for (size_t i = 0; i < plan.delete_keys.size(); ++i) {
    if (sinks::ParseSegmentIndexKey(plan.delete_keys[i])) last_index = i;
    if (sinks::ParseWalSegmentKey(plan.delete_keys[i])) first_wal = std::min(first_wal, i);
  }
  EXPECT_LT(last_index, first_wal);
}

class StoreRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/walship-retention-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_OK_AND_ASSIGN(store_, sinks::OpenObjectStore("file://" + dir_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void PutBase(uint64_t lsn, absl::Duration age, bool with_manifest) {
    ASSERT_OK(store_->Put(sinks::BaseSegmentKey(kStream, Lsn(lsn), "public", "t", 0), "rows"));
    ASSERT_OK(store_->Put(sinks::BaseSegmentKey(kStream, Lsn(lsn), "public", "t", 1), "rows"));
    if (with_manifest) {
      v1::BaseManifest manifest;
      manifest.set_snapshot_lsn(lsn);
      manifest.set_snapshot_time_us(absl::ToUnixMicros(kNow - age));
      ASSERT_OK(store_->Put(sinks::BaseManifestKey(kStream, Lsn(lsn)),
                            manifest.SerializeAsString()));
    }
  }
  std::vector<std::string> Keys() {
    auto listed = store_->List("");
    EXPECT_TRUE(listed.ok());
    std::vector<std::string> keys;
    for (const auto& info : *listed) keys.push_back(info.key);
    return keys;
  }

  std::string dir_;
  std::unique_ptr<sinks::ObjectStore> store_;
};

TEST_F(StoreRetentionTest, CleanIncompleteBasesRemovesOnlyBasesWithoutManifest) {
  PutBase(100, absl::Hours(48), true);
  PutBase(200, absl::Hours(1), false);
  ASSERT_OK_AND_ASSIGN(int deleted, CleanIncompleteBases(*store_, kStream));
  EXPECT_EQ(deleted, 2);
  EXPECT_THAT(Keys(), UnorderedElementsAre(
                          sinks::BaseSegmentKey(kStream, Lsn(100), "public", "t", 0),
                          sinks::BaseSegmentKey(kStream, Lsn(100), "public", "t", 1),
                          sinks::BaseManifestKey(kStream, Lsn(100))));
  ASSERT_OK_AND_ASSIGN(deleted, CleanIncompleteBases(*store_, kStream));
  EXPECT_EQ(deleted, 0);
}

TEST_F(StoreRetentionTest, ListsAndAppliesAPlan) {
  PutBase(100, absl::Hours(48), true);
  PutBase(300, absl::Hours(2), true);
  PutBase(400, absl::Hours(1), false);  // in progress / interrupted: untouched
  ASSERT_OK(store_->Put(sinks::WalSegmentKey(kStream, Lsn(90), Lsn(150)), "w"));
  ASSERT_OK(store_->Put(sinks::SegmentIndexKey(kStream, Lsn(150)), "i"));
  ASSERT_OK(store_->Put(sinks::WalSegmentKey(kStream, Lsn(160), Lsn(320)), "w"));
  ASSERT_OK(store_->Put(sinks::SegmentIndexKey(kStream, Lsn(320)), "i"));
  ASSERT_OK(store_->Put("7300000000000000001/walship/wal/not-a-segment.seg", "x"));

  ASSERT_OK_AND_ASSIGN(StoreContents contents, ListStoreContents(*store_, kStream));
  ASSERT_EQ(contents.bases.size(), 3u);
  EXPECT_TRUE(contents.bases[0].complete);
  EXPECT_EQ(contents.bases[0].snapshot_time, kNow - absl::Hours(48));
  EXPECT_FALSE(contents.bases[2].complete);
  EXPECT_EQ(contents.segments.size(), 4u);

  RetentionPolicy policy;
  policy.retain_base = 1;
  RetentionPlan plan = PlanRetention(contents, policy, kNow);
  ASSERT_OK(ApplyRetention(*store_, plan));
  EXPECT_THAT(Keys(), UnorderedElementsAre(
                          sinks::BaseSegmentKey(kStream, Lsn(300), "public", "t", 0),
                          sinks::BaseSegmentKey(kStream, Lsn(300), "public", "t", 1),
                          sinks::BaseManifestKey(kStream, Lsn(300)),
                          sinks::BaseSegmentKey(kStream, Lsn(400), "public", "t", 0),
                          sinks::BaseSegmentKey(kStream, Lsn(400), "public", "t", 1),
                          sinks::WalSegmentKey(kStream, Lsn(160), Lsn(320)),
                          sinks::SegmentIndexKey(kStream, Lsn(320)),
                          "7300000000000000001/walship/wal/not-a-segment.seg"));
}

TEST_F(StoreRetentionTest, RunRetentionKeepsTheNewestBasesByCount) {
  PutBase(100, absl::Hours(72), true);
  PutBase(200, absl::Hours(48), true);
  PutBase(300, absl::Hours(24), true);
  ASSERT_OK(store_->Put(sinks::WalSegmentKey(kStream, Lsn(150), Lsn(190)), "w"));
  ASSERT_OK(store_->Put(sinks::WalSegmentKey(kStream, Lsn(195), Lsn(210)), "w"));
  RetentionPolicy policy;
  policy.retain_base = 2;
  ASSERT_OK_AND_ASSIGN(RetentionPlan plan, RunRetention(*store_, kStream, policy, kNow));
  EXPECT_THAT(plan.deleted_bases, ElementsAre(Lsn(100)));
  ASSERT_OK_AND_ASSIGN(StoreContents after, ListStoreContents(*store_, kStream));
  ASSERT_EQ(after.bases.size(), 2u);
  EXPECT_EQ(after.bases[0].snapshot_lsn, Lsn(200));
  ASSERT_EQ(after.segments.size(), 1u);
  EXPECT_EQ(after.segments[0].last_end, Lsn(210));
  // Running it again deletes nothing more.
  ASSERT_OK_AND_ASSIGN(plan, RunRetention(*store_, kStream, policy, kNow));
  EXPECT_THAT(plan.delete_keys, IsEmpty());
}

}  // namespace
}  // namespace walship::agent::snapshot

namespace walship::agent::snapshot {
namespace {

// Parts go with the segment that names them (same first commit), after it; a kept segment
// that spans the oldest kept base keeps its parts; orphans (a crash before their segment
// was stored) go once they are older than that base.
TEST(RetentionTest, PartsGoWithTheirSegmentAndOrphansWhenOld) {
  StoreContents contents = FourDailyBases();
  auto part = [](uint64_t first_commit, uint64_t token, int number) {
    return StoredPartObject{sinks::SegmentPartKey(kStream, Lsn(first_commit), token, number),
                            Lsn(first_commit)};
  };
  contents.parts = {part(140, 1, 1), part(140, 1, 2),   // segment 140-150: deleted
                    part(340, 2, 1),                    // segment 340-350 spans base 300
                    part(120, 3, 1),                    // an orphan before base 300
                    part(420, 4, 1),                    // an orphan after it
                    part(460, 5, 1)};                   // a build still running
  RetentionPolicy policy;
  policy.retain_base = 2;
  RetentionPlan plan = PlanRetention(contents, policy, kNow);
  std::vector<std::string> deleted_parts;
  size_t last_segment_position = 0;
  for (size_t i = 0; i < plan.delete_keys.size(); ++i) {
    if (sinks::ParseSegmentPartKey(plan.delete_keys[i])) {
      deleted_parts.push_back(plan.delete_keys[i]);
    } else {
      last_segment_position = i;
      EXPECT_TRUE(deleted_parts.empty()) << "a part went before a segment that names it";
    }
  }
  EXPECT_GT(plan.delete_keys.size(), last_segment_position);
  EXPECT_THAT(deleted_parts, UnorderedElementsAre(part(140, 1, 1).key, part(140, 1, 2).key,
                                                  part(120, 3, 1).key));

  // A lagging stream: a base newer than every stored segment while a segment is being
  // built, its parts stored and not yet named. They are not orphans: nothing stored comes
  // at or after their first commit.
  StoreContents lagging = FourDailyBases();
  lagging.bases.push_back(Base(900, absl::Hours(1)));
  lagging.parts = {part(800, 6, 1), part(800, 6, 2)};
  policy.retain_base = 1;
  RetentionPlan lagging_plan = PlanRetention(lagging, policy, kNow);
  EXPECT_EQ(lagging_plan.oldest_kept_base, Lsn(900));
  for (const std::string& key : lagging_plan.delete_keys) {
    EXPECT_FALSE(sinks::ParseSegmentPartKey(key).has_value()) << key;
  }
}

}  // namespace
}  // namespace walship::agent::snapshot
