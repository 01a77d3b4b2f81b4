// Tests for the object-store sink across restarts and failures: transactions already taken
// are skipped, a missing index is repaired at open, and a failed store or index write stops
// the watermark for good.
#include "sinks/object_store/object_store_sink.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/stream_history.h"
#include "tests/sinks/object_store/object_store_sink_fixture.h"
#include "tests/testing/controlled_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/transaction_builders.h"

namespace walship::sinks {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::walship::testing::StatusIs;
using ::walship::testing::MakeRelation;
using ::walship::testing::MakeTransaction;

using ::walship::testing::ControlledStore;

TEST_F(ObjectStoreSinkTest, SkipsTransactionsAlreadyTaken) {
  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  v1::Relation deals = MakeRelation(16384, "deals");
  auto t1 = MakeTransaction(700, 0x1000, deals, 1);
  auto t2 = MakeTransaction(701, 0x2000, deals, 1);
  ASSERT_OK(sink->Write(t1));
  ASSERT_OK(sink->Write(t2));
  ASSERT_OK(sink->Write(t1));  // resent after a reconnect
  ASSERT_OK(sink->Write(t2));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  std::vector<ReadSegment> segments = ReadAllSegments();
  ASSERT_THAT(segments, SizeIs(1));
  EXPECT_EQ(segments[0].trailer.transaction_count(), 2u);
}

TEST_F(ObjectStoreSinkTest, RestartSkipsStoredTransactionsAndChainsSegments) {
  v1::Relation deals = MakeRelation(16384, "deals");
  auto t1 = MakeTransaction(700, 0x1000, deals, 1);
  auto t2 = MakeTransaction(701, 0x2000, deals, 2);
  auto t3 = MakeTransaction(702, 0x3000, deals, 1);
  {
    std::unique_ptr<Sink> sink = Open();
    ASSERT_NE(sink, nullptr);
    ASSERT_OK(sink->Write(t1));
    ASSERT_OK(sink->Write(t2));
    ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(10)));
  }
  // A crash left a half-built segment in the staging area.
  std::ofstream(options_.staging_dir + "/walship-segment-0000000000003000-0") << "partial";
  std::ofstream(options_.staging_dir + "/unrelated.txt") << "keep";

  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  EXPECT_FALSE(std::filesystem::exists(options_.staging_dir +
                                       "/walship-segment-0000000000003000-0"));
  EXPECT_TRUE(std::filesystem::exists(options_.staging_dir + "/unrelated.txt"));
  EXPECT_EQ(sink->DurableWatermark(), End(t2));
  EXPECT_FALSE(sink->HasPending());
  // PostgreSQL resends from an older confirmed position.
  ASSERT_OK(sink->Write(t1));
  ASSERT_OK(sink->Write(t2));
  EXPECT_FALSE(sink->HasPending());
  ASSERT_OK(sink->Write(t3));
  ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(10)));

  std::vector<ReadSegment> segments = ReadAllSegments();
  ASSERT_THAT(segments, SizeIs(2));
  EXPECT_EQ(segments[1].key, WalSegmentKey(options_.stream, Lsn(0x3000), End(t3)));
  ExpectRecords(segments[1].records, t3.records());
  EXPECT_EQ(segments[0].trailer.previous_end_lsn(), 0u);
  EXPECT_EQ(segments[1].trailer.previous_end_lsn(), End(t2).value());
}

TEST_F(ObjectStoreSinkTest, RepairsAMissingIndexAtOpen) {
  auto t1 = MakeTransaction(700, 0x1000, MakeRelation(16384, "deals"), 3);
  {
    std::unique_ptr<Sink> sink = Open();
    ASSERT_NE(sink, nullptr);
    ASSERT_OK(sink->Write(t1));
    ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(10)));
  }
  std::string index_key = SegmentIndexKey(options_.stream, End(t1));
  ASSERT_OK_AND_ASSIGN(std::string original, store_->Get(index_key));
  ASSERT_OK(store_->Delete(index_key));  // as if the agent died between segment and index

  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->DurableWatermark(), End(t1));
  ASSERT_OK_AND_ASSIGN(std::string repaired, store_->Get(index_key));
  ASSERT_OK_AND_ASSIGN(v1::SegmentIndex a, DecodeSegmentIndex(index_key, original));
  ASSERT_OK_AND_ASSIGN(v1::SegmentIndex b, DecodeSegmentIndex(index_key, repaired));
  EXPECT_EQ(a.segment_key(), b.segment_key());
  EXPECT_EQ(a.segment_bytes(), b.segment_bytes());
  EXPECT_EQ(a.trailer().SerializeAsString(), b.trailer().SerializeAsString());
  EXPECT_EQ(b.trailer().event_count(), 3u);
  // The repaired index names the stream identity from the segment's header.
  EXPECT_EQ(b.system_id(), "7301234567890123456");
}

TEST_F(ObjectStoreSinkTest, CorruptSegmentWithoutIndexFailsOpen) {
  std::string key = WalSegmentKey(options_.stream, Lsn(0x1000), Lsn(0x1028));
  ASSERT_OK(store_->Put(key, "not a segment"));
  EXPECT_THAT(OpenObjectStoreSink(store_.get(), options_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(key)));
}

TEST_F(ObjectStoreSinkTest, StoreFailureIsStickyAndStopsTheWatermark) {
  ControlledStore controlled(store_.get());
  std::unique_ptr<Sink> sink = Open(&controlled);
  ASSERT_NE(sink, nullptr);
  v1::Relation deals = MakeRelation(16384, "deals");
  auto t1 = MakeTransaction(700, 0x1000, deals, 1);
  auto t2 = MakeTransaction(701, 0x2000, deals, 1);
  auto t3 = MakeTransaction(702, 0x3000, deals, 1);
  ASSERT_OK(sink->Write(t1));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(sink->DurableWatermark(), End(t1));

  controlled.FailWrites(absl::UnavailableError("bucket unreachable"));
  ASSERT_OK(sink->Write(t2));
  absl::Status flushed = sink->Flush(absl::Now() + absl::Seconds(10));
  EXPECT_THAT(flushed, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("bucket unreachable")));
  EXPECT_THAT(flushed, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("storing segment")));
  // The store recovering does not un-break the sink: nothing after a failure is confirmed.
  controlled.FailWrites(absl::OkStatus());
  EXPECT_THAT(sink->Write(t3), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sink->Poll(absl::Now() + absl::Hours(2)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sink->Flush(absl::Now() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sink->DurableWatermark(), End(t1));
  EXPECT_THAT(sink->Close(absl::Now() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ListWal(), SizeIs(1));
}

TEST_F(ObjectStoreSinkTest, IndexFailureAlsoStopsTheWatermark) {
  ControlledStore controlled(store_.get());
  std::unique_ptr<Sink> sink = Open(&controlled);
  ASSERT_NE(sink, nullptr);
  auto t1 = MakeTransaction(700, 0x1000, MakeRelation(16384, "deals"), 1);
  // The segment's PutFile passes; the index Put (second write) fails.
  controlled.Hold("/index/");
  ASSERT_OK(sink->Write(t1));
  ASSERT_OK(sink->Poll(absl::Now() + absl::Hours(2)));
  ASSERT_TRUE(controlled.AwaitAttempts(2));
  controlled.FailWrites(absl::ResourceExhaustedError("disk full writing index"));
  controlled.Hold("");
  EXPECT_THAT(sink->Flush(absl::Now() + absl::Seconds(10)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("storing index")));
  EXPECT_EQ(sink->DurableWatermark(), Lsn::Invalid());
}

TEST_F(ObjectStoreSinkTest, RefusesBadOptions) {
  ObjectStoreSinkOptions bad = options_;
  bad.staging_dir.clear();
  EXPECT_THAT(OpenObjectStoreSink(store_.get(), bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
  bad = options_;
  bad.stream.slot = "../escape";
  EXPECT_THAT(OpenObjectStoreSink(store_.get(), bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
  bad = options_;
  bad.max_pending_segments = 0;
  EXPECT_THAT(OpenObjectStoreSink(store_.get(), bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
  bad = options_;
  bad.zstd_level = 99;
  EXPECT_THAT(OpenObjectStoreSink(store_.get(), bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace walship::sinks
