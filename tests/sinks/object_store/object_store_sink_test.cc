// Tests for the object-store sink: segments, group commit, watermark, back-pressure and
// parts. Restart and failures: object_store_sink_restart_test.cc.
#include "proto/segment_format.h"
#include "sinks/object_store/stream_history.h"
#include "sinks/object_store/object_store_sink.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/segment_reader.h"
#include "tests/sinks/object_store/object_store_sink_fixture.h"
#include "tests/testing/controlled_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/transaction_builders.h"

namespace walship::sinks {
namespace {

using ::testing::SizeIs;
using ::walship::testing::StatusIs;
using ::walship::testing::MakeRelation;
using ::walship::testing::MakeTransaction;

using ::walship::testing::ControlledStore;

TEST_F(ObjectStoreSinkTest, StoresTransactionsInOrderWithRelationDescribedOnce) {
  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->DurableWatermark(), Lsn::Invalid());
  EXPECT_EQ(sink->name(), store_->url());
  v1::Relation deals = MakeRelation(16384, "deals");
  v1::Relation contacts = MakeRelation(16390, "contacts", 3);
  auto t1 = MakeTransaction(700, 0x1000, deals, 2);
  auto t2 = MakeTransaction(701, 0x2000, contacts, 1);
  auto t3 = MakeTransaction(702, 0x3000, deals, 3);
  for (auto* txn : {&t1, &t2, &t3}) ASSERT_OK(sink->Write(*txn));
  EXPECT_TRUE(sink->HasPending());
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  EXPECT_FALSE(sink->HasPending());
  EXPECT_EQ(sink->DurableWatermark(), End(t3));

  std::vector<ReadSegment> segments = ReadAllSegments();
  ASSERT_THAT(segments, SizeIs(1));
  EXPECT_EQ(segments[0].key, WalSegmentKey(options_.stream, Lsn(0x1000), End(t3)));
  // t3's RelationDef for "deals" is identical to t1's, so the segment holds it once.
  std::vector<v1::Record> expected = t1.records();
  expected.insert(expected.end(), t2.records().begin(), t2.records().end());
  expected.insert(expected.end(), t3.records().begin() + 1, t3.records().end());
  ExpectRecords(segments[0].records, expected);

  const v1::SegmentHeader& header = segments[0].header;
  EXPECT_EQ(header.kind(), v1::CHANGE_SEGMENT);
  EXPECT_EQ(header.codec(), v1::CODEC_ZSTD);
  EXPECT_EQ(header.format_version(), proto::kSegmentFormatVersion);
  EXPECT_EQ(header.system_id(), "7301234567890123456");
  EXPECT_EQ(header.session().settings().at("TimeZone"), "UTC");
  EXPECT_GT(header.created_time_us(), 0);
  const v1::SegmentTrailer& trailer = segments[0].trailer;
  EXPECT_EQ(trailer.transaction_count(), 3u);
  EXPECT_EQ(trailer.event_count(), 6u);
  EXPECT_EQ(trailer.previous_end_lsn(), 0u);

  // The index object describes the segment.
  ASSERT_OK_AND_ASSIGN(std::string index_bytes,
                       store_->Get(SegmentIndexKey(options_.stream, End(t3))));
  v1::SegmentIndex index;
  ASSERT_TRUE(index.ParseFromString(index_bytes));
  EXPECT_EQ(index.segment_key(), segments[0].key);
  EXPECT_EQ(index.segment_bytes(), ListWal()[0].size);
  EXPECT_EQ(index.trailer().SerializeAsString(), trailer.SerializeAsString());
  ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(10)));
  // The staging area is left empty.
  EXPECT_TRUE(std::filesystem::is_empty(options_.staging_dir));
}

TEST_F(ObjectStoreSinkTest, KeepsRelationDefThatChangedWithinASegment) {
  options_.zstd_level = 0;
  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  auto t1 = MakeTransaction(700, 0x1000, MakeRelation(16384, "deals", 2), 1);
  auto t2 = MakeTransaction(701, 0x2000, MakeRelation(16384, "deals", 3), 1);  // ADD COLUMN
  auto t3 = MakeTransaction(702, 0x3000, MakeRelation(16384, "deals", 3), 1);
  for (auto* txn : {&t1, &t2, &t3}) ASSERT_OK(sink->Write(*txn));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  std::vector<ReadSegment> segments = ReadAllSegments();
  ASSERT_THAT(segments, SizeIs(1));
  EXPECT_EQ(segments[0].header.codec(), v1::CODEC_NONE);
  std::vector<v1::Record> expected = t1.records();
  expected.insert(expected.end(), t2.records().begin(), t2.records().end());
  expected.insert(expected.end(), t3.records().begin() + 1, t3.records().end());
  ExpectRecords(segments[0].records, expected);
}

TEST_F(ObjectStoreSinkTest, CutsBySizeAndDescribesRelationsAgainInEachSegment) {
  options_.segment_max_bytes = 1;  // every transaction closes its segment
  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  v1::Relation deals = MakeRelation(16384, "deals");
  auto t1 = MakeTransaction(700, 0x1000, deals, 2);
  auto t2 = MakeTransaction(701, 0x2000, deals, 2);
  auto t3 = MakeTransaction(702, 0x3000, deals, 2);
  for (auto* txn : {&t1, &t2, &t3}) ASSERT_OK(sink->Write(*txn));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(sink->DurableWatermark(), End(t3));

  std::vector<ReadSegment> segments = ReadAllSegments();
  ASSERT_THAT(segments, SizeIs(3));
  const proto::InMemoryTransaction* txns[] = {&t1, &t2, &t3};
  uint64_t previous_end = 0;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(segments[i].key,
              WalSegmentKey(options_.stream, txns[i]->info().commit_lsn, End(*txns[i])));
    ExpectRecords(segments[i].records, txns[i]->records());
    ASSERT_TRUE(segments[i].records[0].has_relation_def());
    EXPECT_EQ(segments[i].trailer.previous_end_lsn(), previous_end);
    previous_end = End(*txns[i]).value();
  }
}

// Past the segment's size but under its part limit: the transaction stays in one object.
TEST_F(ObjectStoreSinkTest, TransactionUnderThePartLimitStaysInOneObject) {
  options_.segment_max_bytes = 2000;
  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  auto big = MakeTransaction(700, 0x1000, MakeRelation(16384, "deals"), 200, std::string(50, 'x'));
  auto small = MakeTransaction(701, 0x9000, MakeRelation(16384, "deals"), 1);
  ASSERT_OK(sink->Write(big));
  ASSERT_OK(sink->Write(small));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  std::vector<ReadSegment> segments = ReadAllSegments();
  ASSERT_THAT(segments, SizeIs(2));
  ExpectRecords(segments[0].records, big.records());
  ExpectRecords(segments[1].records, small.records());
  EXPECT_EQ(segments[0].trailer.parts_size(), 0);
}

TEST_F(ObjectStoreSinkTest, CutsByAgeWhenPolledPastTheDeadline) {
  options_.segment_max_age = absl::Minutes(5);
  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->NextDeadline(), absl::InfiniteFuture());
  absl::Time before = absl::Now();
  auto t1 = MakeTransaction(700, 0x1000, MakeRelation(16384, "deals"), 1);
  ASSERT_OK(sink->Write(t1));
  absl::Time deadline = sink->NextDeadline();
  EXPECT_GE(deadline, before + absl::Minutes(5));
  EXPECT_LE(deadline, absl::Now() + absl::Minutes(5));

  ASSERT_OK(sink->Poll(deadline - absl::Seconds(1)));  // not yet due
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(ListWal().empty());
  EXPECT_EQ(sink->DurableWatermark(), Lsn::Invalid());
  EXPECT_EQ(sink->NextDeadline(), deadline);

  ASSERT_OK(sink->Poll(deadline));
  EXPECT_EQ(sink->NextDeadline(), absl::InfiniteFuture());
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (sink->DurableWatermark() != End(t1) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(sink->DurableWatermark(), End(t1));
  EXPECT_THAT(ListWal(), SizeIs(1));
}

TEST_F(ObjectStoreSinkTest, WatermarkMovesOnlyOnceSegmentAndIndexAreStored) {
  ControlledStore controlled(store_.get());
  std::unique_ptr<Sink> sink = Open(&controlled);
  ASSERT_NE(sink, nullptr);
  auto t1 = MakeTransaction(700, 0x1000, MakeRelation(16384, "deals"), 1);
  controlled.Hold("/wal/");
  ASSERT_OK(sink->Write(t1));
  ASSERT_OK(sink->Poll(absl::Now() + absl::Hours(2)));  // cut: queued for upload
  ASSERT_TRUE(controlled.AwaitAttempts(1));             // the segment is held
  EXPECT_EQ(sink->DurableWatermark(), Lsn::Invalid());
  EXPECT_TRUE(sink->HasPending());
  EXPECT_THAT(sink->Flush(absl::Now() + absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));

  // The segment goes through, its index is held: not yet durable as a whole.
  controlled.Hold("/index/");
  ASSERT_TRUE(controlled.AwaitAttempts(2));
  EXPECT_THAT(ListWal(), SizeIs(1));
  EXPECT_EQ(sink->DurableWatermark(), Lsn::Invalid());
  EXPECT_TRUE(sink->HasPending());

  controlled.Hold("");
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(sink->DurableWatermark(), End(t1));
  EXPECT_FALSE(sink->HasPending());
}

TEST_F(ObjectStoreSinkTest, ReportsBackPressureWithoutEverBlockingTheCaller) {
  options_.segment_max_bytes = 1;
  options_.max_pending_segments = 1;
  ControlledStore controlled(store_.get());
  std::unique_ptr<Sink> sink = Open(&controlled);
  ASSERT_NE(sink, nullptr);
  v1::Relation deals = MakeRelation(16384, "deals");
  auto t1 = MakeTransaction(700, 0x1000, deals, 1);
  auto t2 = MakeTransaction(701, 0x2000, deals, 1);
  EXPECT_FALSE(sink->Backlogged());
  controlled.Hold("/");
  ASSERT_OK(sink->Write(t1));  // queued; its upload is held
  ASSERT_TRUE(controlled.AwaitAttempts(1));
  EXPECT_TRUE(sink->Backlogged());  // one segment waits: the bound
  // A caller that writes anyway (the loop does not) is not blocked: the segment waits on
  // disk, and every call returns at once while the store is stalled.
  absl::Time before = absl::Now();
  ASSERT_OK(sink->Write(t2));
  ASSERT_OK(sink->Poll(absl::Now()));
  EXPECT_EQ(sink->Flush(absl::Now() + absl::Milliseconds(50)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - before, absl::Seconds(2));
  EXPECT_TRUE(sink->Backlogged());
  EXPECT_EQ(sink->DurableWatermark(), Lsn::Invalid());
  controlled.Hold("");
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  EXPECT_FALSE(sink->Backlogged());
  EXPECT_EQ(sink->DurableWatermark(), End(t2));
  EXPECT_THAT(ListWal(), SizeIs(2));
}

// A transaction far past the segment's size is split across objects: parts under part/
// (never listed in wal/), each checked by size and SHA-256 from the completing object's
// trailer and index, whose records come after theirs; the segment's trailer describes the
// whole (events, transactions, range), and the transaction is durable only once all are
// stored.
TEST_F(ObjectStoreSinkTest, ATransactionPastTheSegmentSizeIsSplitIntoParts) {
  options_.segment_max_bytes = 4096;  // parts at 64 KiB raw (the floor)
  options_.zstd_level = 0;
  std::unique_ptr<Sink> sink = Open();
  ASSERT_NE(sink, nullptr);
  v1::Relation deals = MakeRelation(16384, "deals");
  auto t1 = MakeTransaction(700, 0x1000, deals, 3);
  auto t2 = MakeTransaction(701, 0x2000, deals, 2000, std::string(100, 'x'));
  auto t3 = MakeTransaction(702, 0x3000, deals, 2);
  ASSERT_OK(sink->Write(t1));
  ASSERT_OK(sink->Write(t2));
  ASSERT_OK(sink->Write(t3));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(sink->DurableWatermark(), End(t3));

  std::vector<ReadSegment> segments = ReadAllSegments();
  ASSERT_THAT(segments, SizeIs(2));
  const ReadSegment& split = segments[0];
  EXPECT_EQ(split.key, WalSegmentKey(options_.stream, Lsn(0x1000), End(t2)));
  EXPECT_EQ(split.header.format_version(), proto::kSegmentFormatWithParts);
  ASSERT_GE(split.trailer.parts_size(), 3);
  EXPECT_TRUE(split.header.continued());
  EXPECT_EQ(split.trailer.part_number(), 0u);
  EXPECT_EQ(split.trailer.event_count(), 2003u);
  EXPECT_EQ(split.trailer.transaction_count(), 2u);
  EXPECT_EQ(split.trailer.first_commit_lsn(), 0x1000u);
  EXPECT_EQ(split.trailer.last_end_lsn(), End(t2).value());
  EXPECT_THAT(split.trailer.changed_relations(), ::testing::ElementsAre(16384u));

  // The parts' records, then the segment's own: t1 whole, then t2 (its RelationDef is t1's).
  std::vector<v1::Record> records;
  auto parts = store_->List(options_.stream.Prefix() + "part/");
  ASSERT_OK(parts.status());
  EXPECT_EQ(parts->size(), static_cast<size_t>(split.trailer.parts_size()));
  for (int i = 0; i < split.trailer.parts_size(); ++i) {
    const v1::SegmentPartRef& ref = split.trailer.parts(i);
    EXPECT_TRUE(IsPartKeyOfSegment(ref.key(), split.key)) << ref.key();
    EXPECT_EQ(ParseSegmentPartKey(ref.key()), Lsn(0x1000));
    ASSERT_OK_AND_ASSIGN(auto source, store_->Open(ref.key()));
    EXPECT_EQ(source->size(), ref.bytes());
    ASSERT_OK_AND_ASSIGN(auto reader, proto::SegmentReader::Open(source.get()));
    EXPECT_EQ(reader->digest(), ref.sha256());
    EXPECT_EQ(reader->trailer().part_number(), static_cast<uint32_t>(i + 1));
    EXPECT_EQ(reader->header().continued(), i > 0);
    EXPECT_EQ(reader->trailer().parts_size(), 0);  // only the completing object names them
    v1::Record record;
    while (true) {
      ASSERT_OK_AND_ASSIGN(bool more, reader->Next(&record));
      if (!more) break;
      records.push_back(record);
    }
  }
  records.insert(records.end(), split.records.begin(), split.records.end());
  std::vector<v1::Record> expected = t1.records();
  expected.insert(expected.end(), t2.records().begin() + 1, t2.records().end());
  ExpectRecords(records, expected);

  // The index names the same parts.
  ASSERT_OK_AND_ASSIGN(std::string index_bytes,
                       store_->Get(SegmentIndexKey(options_.stream, End(t2))));
  ASSERT_OK_AND_ASSIGN(v1::SegmentIndex index,
                       DecodeSegmentIndex(SegmentIndexKey(options_.stream, End(t2)), index_bytes));
  ASSERT_EQ(index.trailer().parts_size(), split.trailer.parts_size());
  for (int i = 0; i < index.trailer().parts_size(); ++i) {
    EXPECT_EQ(index.trailer().parts(i).SerializeAsString(),
              split.trailer.parts(i).SerializeAsString());
  }
  // No staging file is left.
  EXPECT_TRUE(std::filesystem::is_empty(options_.staging_dir));
}

}  // namespace
}  // namespace walship::sinks
