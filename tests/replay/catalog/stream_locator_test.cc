// Tests for stream discovery and the `list` summary.
#include "replay/catalog/stream_locator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/catalog/segment_catalog.h"
#include "replay/commands/stream_summary.h"
#include "tests/testing/memory_object_store.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::walship::testing::MemoryObjectStore;
using ::walship::replay::testing::MakeRelation;
using ::walship::replay::testing::StoreSegment;
using ::walship::replay::testing::StreamBuilder;
using ::walship::replay::testing::TestStream;
using ::walship::testing::StatusIs;

TEST(ResolveStream, PicksTheOnlyStreamAndIgnoresForeignKeys) {
  MemoryObjectStore store;
  ASSERT_OK(store.Put("7/s/index/0000000001000000.idx", "x"));
  ASSERT_OK(store.Put("7/s/notes.txt", "x"));
  ASSERT_OK(store.Put("README", "x"));
  ASSERT_OK_AND_ASSIGN(sinks::StreamId stream, ResolveStream(&store, "", ""));
  EXPECT_EQ(stream.system_id, "7");
  EXPECT_EQ(stream.slot, "s");
}

TEST(ResolveStream, SeveralStreamsNeedAChoiceAndListIt) {
  MemoryObjectStore store;
  ASSERT_OK(store.Put("7/a/index/0000000001000000.idx", "x"));
  ASSERT_OK(store.Put("8/b/wal/0000000001000000-0000000002000000.seg", "x"));
  EXPECT_THAT(ResolveStream(&store, "", ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--system-id"), HasSubstr("7/a"), HasSubstr("8/b"))));
  ASSERT_OK_AND_ASSIGN(sinks::StreamId stream, ResolveStream(&store, "8", ""));
  EXPECT_EQ(stream.slot, "b");
  EXPECT_THAT(ResolveStream(&store, "9", ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ResolveStream, EmptyStoreIsAPreconditionFailure) {
  MemoryObjectStore store;
  EXPECT_THAT(ResolveStream(&store, "", ""), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StreamSummary, CountsRangesAndGaps) {
  MemoryObjectStore store;
  StreamBuilder builder;
  v1::Relation relation = MakeRelation(1, "t", {{"id", 23, "int4", true}});
  builder.Define(relation);
  uint64_t first = builder.Begin(10);
  builder.Insert(1, {"1"});
  builder.Insert(1, {"2"});
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer one, StoreSegment(&store, builder.Take(), 0));
  builder.Begin(11);  // never stored: a gap
  builder.Take();
  builder.Define(relation);
  uint64_t last = builder.Begin(12);
  builder.Insert(1, {"3"});
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer three,
                       StoreSegment(&store, builder.Take(), last - 0x100 + 0x30));
  ASSERT_OK_AND_ASSIGN(SegmentCatalog catalog, SegmentCatalog::Load(&store, TestStream()));
  StreamSummary summary = Summarize(catalog);
  EXPECT_EQ(summary.segment_count, 2u);
  EXPECT_EQ(summary.transaction_count, 2u);
  EXPECT_EQ(summary.event_count, 3u);
  EXPECT_EQ(summary.first_commit_lsn, Lsn(first));
  EXPECT_EQ(summary.last_end_lsn, Lsn(last + 0x30));
  ASSERT_EQ(summary.gaps.size(), 1u);
  std::string text = FormatSummary(summary);
  EXPECT_THAT(text, HasSubstr("stream 7301234567890123456/walship"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("gap: ", Lsn(one.last_end_lsn()).ToString(), " .. ",
                                           Lsn(three.previous_end_lsn()).ToString())));
  EXPECT_THAT(text, HasSubstr("transactions: 2, events: 3"));
}

}  // namespace
}  // namespace walship::replay
