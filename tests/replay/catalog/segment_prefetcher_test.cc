// SegmentPrefetcher: records handed over in segment order whatever order threads finish in,
// a damaged segment reported at its place, and a consumer that stops early.
#include "replay/catalog/segment_prefetcher.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/catalog/segment_catalog.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay::testing {
namespace {

using walship::testing::StatusIs;

class SegmentPrefetcherTest : public ::testing::Test {
 protected:
  // Stores `count` segments, segment i holding i + 1 inserts of oid 16400.
  void StoreSegments(int count) {
    v1::Relation deals = MakeRelation(16400, "deals", {{"id", 20, "int8", true}});
    uint64_t previous_end = 0;
    for (int i = 0; i < count; ++i) {
      builder_.Begin(static_cast<uint32_t>(100 + i));
      builder_.Define(deals);
      for (int k = 0; k <= i; ++k) builder_.Insert(deals.oid(), {std::to_string(i * 100 + k)});
      ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer trailer,
                           StoreSegment(&store_, builder_.Take(), previous_end));
      previous_end = trailer.last_end_lsn();
    }
    ASSERT_OK_AND_ASSIGN(SegmentCatalog catalog, SegmentCatalog::Load(&store_, TestStream()));
    segments_ = catalog.segments();
  }

  ::walship::testing::MemoryObjectStore store_;
  StreamBuilder builder_;
  std::vector<CatalogSegment> segments_;
};

TEST_F(SegmentPrefetcherTest, HandsSegmentsOverInOrder) {
  StoreSegments(12);
  ASSERT_EQ(segments_.size(), 12u);
  SegmentPrefetcher prefetcher(&store_, segments_, 3, 2);
  for (size_t i = 0; i < segments_.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> records, prefetcher.Take(i));
    std::vector<std::string> ids;
    for (const v1::Record& record : records) {
      if (record.has_event()) ids.push_back(record.event().new_row().values(0).text());
    }
    ASSERT_EQ(ids.size(), i + 1) << "segment " << i;
    EXPECT_EQ(ids.front(), std::to_string(i * 100));
    EXPECT_EQ(ids.back(), std::to_string(i * 100 + i));
  }
}

TEST_F(SegmentPrefetcherTest, ADamagedSegmentIsAnErrorAtItsPlaceAndStoppingEarlyIsFine) {
  StoreSegments(6);
  const std::string key = segments_[2].segment_key;
  ASSERT_OK_AND_ASSIGN(std::string data, store_.Get(key));
  data[data.size() / 2] ^= 0x40;
  ASSERT_OK(store_.Delete(key));
  ASSERT_OK(store_.Put(key, data));
  SegmentPrefetcher prefetcher(&store_, segments_, 2, 4);
  EXPECT_OK(prefetcher.Take(0).status());
  EXPECT_OK(prefetcher.Take(1).status());
  EXPECT_THAT(prefetcher.Take(2), StatusIs(absl::StatusCode::kDataLoss));
  // The consumer stops here: destruction stops the threads still decoding.
}

}  // namespace
}  // namespace walship::replay::testing
