// Tests for SegmentWriter: trailer statistics, marks, options, error handling and bounded
// buffering on large segments.
#include "proto/segment_writer.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/segment_format.h"
#include "tests/proto/segment_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::proto {
namespace {

using ::testing::HasSubstr;
using ::walship::proto::testing::Insert;
using ::walship::proto::testing::MakeHeader;
using ::walship::proto::testing::Message;
using ::walship::proto::testing::RelationDef;
using ::walship::proto::testing::WriteSegment;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

// Remembers sizes, keeps nothing; fails after `fail_after` appends when set.
class MeasuringSink : public ByteSink {
 public:
  absl::Status Append(absl::string_view data) override {
    if (fail_after_ >= 0 && appends_ >= fail_after_) {
      return absl::ResourceExhaustedError("sink full");
    }
    ++appends_;
    size_ += data.size();
    max_append_ = std::max(max_append_, data.size());
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }
  size_t max_append() const { return max_append_; }
  int appends() const { return appends_; }
  void FailAfter(int n) { fail_after_ = n; }

 private:
  uint64_t size_ = 0;
  size_t max_append_ = 0;
  int appends_ = 0;
  int fail_after_ = -1;
};

// Peak resident set of this process in KiB (VmHWM), or -1.
long PeakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    long kib = 0;
    if (std::sscanf(line.c_str(), "VmHWM: %ld kB", &kib) == 1) return kib;
  }
  return -1;
}

TEST(SegmentWriter, TrailerCountsEventsTransactionsAndRanges) {
  StringByteSink sink;
  ASSERT_OK_AND_ASSIGN(auto writer, SegmentWriter::Create(&sink, MakeHeader(v1::CODEC_ZSTD)));
  EXPECT_GT(writer->bytes_written(), 0u);  // the header is written at once
  ASSERT_OK(writer->Add(RelationDef(16384)));
  ASSERT_OK(writer->Add(Insert(0x1000, 1, 705, 16384, "1", "a")));
  ASSERT_OK(writer->Add(Insert(0x1000, 2, 705, 16384, "2", "b")));
  ASSERT_OK(writer->Add(Insert(0x2000, 1, 702, 16384, "3", "c")));
  ASSERT_OK(writer->Add(RelationDef(16390)));
  ASSERT_OK(writer->Add(Insert(0x3000, 1, 710, 16390, "4", "d")));
  ASSERT_OK(writer->Add(Insert(0x3000, 2, 710, 16390, "5", "e")));
  // The trailer is valid before Finish.
  EXPECT_EQ(writer->trailer().event_count(), 5u);
  ASSERT_OK(writer->Finish(0x0F00));

  const v1::SegmentTrailer& t = writer->trailer();
  EXPECT_EQ(t.event_count(), 5u);
  EXPECT_EQ(t.record_count(), 7u);
  EXPECT_EQ(t.transaction_count(), 3u);
  EXPECT_EQ(t.first_commit_lsn(), 0x1000u);
  EXPECT_EQ(t.last_commit_lsn(), 0x3000u);
  EXPECT_EQ(t.last_end_lsn(), 0x3030u);
  EXPECT_EQ(t.first_commit_time_us(), 1700000000000000 + 0x1000);
  EXPECT_EQ(t.last_commit_time_us(), 1700000000000000 + 0x3000);
  EXPECT_EQ(t.min_xid(), 702u);
  EXPECT_EQ(t.max_xid(), 710u);
  EXPECT_EQ(t.previous_end_lsn(), 0x0F00u);
  EXPECT_EQ(t.uncompressed_bytes(), writer->raw_bytes());
  EXPECT_GT(writer->raw_bytes(), 0u);
  EXPECT_EQ(writer->bytes_written(), sink.size());

  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer read,
                       ReadSegmentTrailer(MakeStringSource("k", sink.data()).get()));
  EXPECT_EQ(read.SerializeAsString(), t.SerializeAsString());
}

TEST(SegmentWriter, RecordsMarksOnlyFromWalshipMarkMessages) {
  std::vector<v1::Record> records = {
      Insert(0x100, 1, 5, 1, "1", "x"),
      Message(0x200, 1, 6, "walship", "mark:before-delete"),
      Message(0x300, 1, 7, "walship.ddl", "mark:not-a-mark"),
      Message(0x400, 1, 8, "walship", "heartbeat"),
      Message(0x500, 1, 9, "other", "mark:no"),
      Message(0x600, 1, 10, "walship", "mark:"),
      Message(0x700, 1, 11, "walship", "mark:after"),
  };
  std::string segment = WriteSegment(records, v1::CODEC_ZSTD);
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer t,
                       ReadSegmentTrailer(MakeStringSource("k", segment).get()));
  ASSERT_EQ(t.marks_size(), 3);
  EXPECT_EQ(t.marks(0).name(), "before-delete");
  EXPECT_EQ(t.marks(0).commit_lsn(), 0x200u);
  EXPECT_EQ(t.marks(0).xid(), 6u);
  EXPECT_EQ(t.marks(0).commit_time_us(), 1700000000000000 + 0x200);
  EXPECT_EQ(t.marks(1).name(), "");
  EXPECT_EQ(t.marks(2).name(), "after");
  EXPECT_EQ(t.marks(2).xid(), 11u);
  EXPECT_EQ(t.transaction_count(), 7u);
}

TEST(SegmentWriter, ListsTheRelationsWhoseRowsChange) {
  std::vector<v1::Record> records = {
      RelationDef(16390),
      Insert(0x100, 1, 5, 16390, "1", "x"),
      Insert(0x100, 2, 5, 16384, "2", "y"),
      Message(0x200, 1, 6, "walship", "mark:m"),
      Insert(0x300, 1, 7, 16390, "3", "z"),
  };
  v1::Record truncate;
  v1::Event* event = truncate.mutable_event();
  event->set_commit_lsn(0x400);
  event->set_sequence(1);
  event->set_op(v1::TRUNCATE);
  event->mutable_relation()->set_oid(16500);
  event->mutable_truncate()->add_relations()->set_oid(16500);
  event->mutable_truncate()->add_relations()->set_oid(16401);
  records.push_back(truncate);
  std::string segment = WriteSegment(records, v1::CODEC_ZSTD);
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer t,
                       ReadSegmentTrailer(MakeStringSource("k", segment).get()));
  EXPECT_TRUE(t.changed_relations_listed());
  EXPECT_THAT(t.changed_relations(), ::testing::ElementsAre(16384u, 16390u, 16401u, 16500u));
  ASSERT_OK_AND_ASSIGN(
      v1::SegmentTrailer none,
      ReadSegmentTrailer(MakeStringSource("k", WriteSegment({}, v1::CODEC_ZSTD)).get()));
  EXPECT_TRUE(none.changed_relations_listed());
  EXPECT_EQ(none.changed_relations_size(), 0);
}

TEST(SegmentWriter, EmptySegmentHasZeroStats) {
  std::string segment = WriteSegment({}, v1::CODEC_ZSTD, 0x42);
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer t,
                       ReadSegmentTrailer(MakeStringSource("k", segment).get()));
  EXPECT_EQ(t.event_count(), 0u);
  EXPECT_EQ(t.record_count(), 0u);
  EXPECT_EQ(t.transaction_count(), 0u);
  EXPECT_EQ(t.previous_end_lsn(), 0x42u);
  // header, no frame, trailer block, footer
  EXPECT_EQ(testing::TrailerOffset(segment), testing::FirstFrameOffset(segment));
}

TEST(SegmentWriter, FillsInTheFormatVersion) {
  std::string segment = WriteSegment({}, v1::CODEC_NONE);
  auto source = MakeStringSource("k", segment);
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(source.get()));
  EXPECT_EQ(reader->header().format_version(), kSegmentFormatVersion);
  EXPECT_EQ(reader->header().slot(), "walship");
  EXPECT_EQ(reader->header().session().settings().at("TimeZone"), "UTC");
}

TEST(SegmentWriter, RefusesBadHeadersAndOptions) {
  StringByteSink sink;
  EXPECT_THAT(SegmentWriter::Create(&sink, MakeHeader(v1::CODEC_UNSPECIFIED)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("codec")));
  v1::SegmentHeader future = MakeHeader(v1::CODEC_ZSTD);
  future.set_format_version(kNewestSegmentFormatVersion + 1);
  EXPECT_THAT(SegmentWriter::Create(&sink, future),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
  SegmentWriterOptions options;
  options.zstd_level = 1000;
  EXPECT_THAT(SegmentWriter::Create(&sink, MakeHeader(v1::CODEC_ZSTD), options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("zstd level")));
  EXPECT_EQ(sink.size(), 0u);
}

TEST(SegmentWriter, RefusesAddAndFinishAfterFinish) {
  StringByteSink sink;
  ASSERT_OK_AND_ASSIGN(auto writer, SegmentWriter::Create(&sink, MakeHeader(v1::CODEC_ZSTD)));
  ASSERT_OK(writer->Finish(0));
  EXPECT_THAT(writer->Add(Insert(1, 1, 1, 1, "1", "")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(writer->Finish(0), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(SegmentWriter, KeepsTheFirstSinkError) {
  MeasuringSink sink;
  ASSERT_OK_AND_ASSIGN(auto writer, SegmentWriter::Create(&sink, MakeHeader(v1::CODEC_NONE)));
  sink.FailAfter(sink.appends());
  std::string note(kTargetFrameRawBytes, 'n');
  // The first Add fills a frame, whose write fails.
  EXPECT_THAT(writer->Add(Insert(1, 1, 1, 1, "1", note)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(writer->Add(Insert(1, 2, 1, 1, "2", "x")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(writer->Finish(0), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(SegmentWriter, BuffersAtMostAboutOneFrameOn64MiB) {
  MeasuringSink sink;
  ASSERT_OK_AND_ASSIGN(auto writer, SegmentWriter::Create(&sink, MakeHeader(v1::CODEC_NONE)));
  std::string note(1000, 'q');
  uint64_t lsn = 0x10000;
  size_t largest_record = 0;
  while (writer->raw_bytes() < (64u << 20)) {
    v1::Record record = Insert(lsn, 1, 100, 16384, std::to_string(lsn), note);
    largest_record = std::max(largest_record, record.ByteSizeLong() + 5);
    ASSERT_OK(writer->Add(record));
    ++lsn;
  }
  ASSERT_OK(writer->Finish(0));
  // Uncompressed frames are written as they fill: no append is larger than one frame.
  EXPECT_LE(sink.max_append(), kTargetFrameRawBytes + largest_record);
  EXPECT_GE(sink.appends(), static_cast<int>((64u << 20) / kTargetFrameRawBytes));
  EXPECT_EQ(writer->bytes_written(), sink.size());
  EXPECT_GT(sink.size(), 64u << 20);
}

TEST(SegmentWriter, PeakMemoryStaysFlatWhileWriting256MiB) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's quarantine keeps freed buffers resident";
#endif
  MeasuringSink sink;
  SegmentWriterOptions options;
  options.zstd_level = 1;
  ASSERT_OK_AND_ASSIGN(auto writer,
                       SegmentWriter::Create(&sink, MakeHeader(v1::CODEC_ZSTD), options));
  std::string note;
  for (int i = 0; i < 2000; ++i) note.push_back(static_cast<char>('a' + (i * 7919) % 26));
  // Warm up one frame so the buffers and the zstd context exist before the baseline.
  uint64_t lsn = 1;
  while (writer->raw_bytes() < 2 * kTargetFrameRawBytes) {
    ASSERT_OK(writer->Add(Insert(lsn, 1, 1, 1, std::to_string(lsn), note)));
    ++lsn;
  }
  const long before = PeakRssKib();
  if (before < 0) GTEST_SKIP() << "no /proc/self/status";
  while (writer->raw_bytes() < (256u << 20)) {
    ASSERT_OK(writer->Add(Insert(lsn, 1, 1, 1, std::to_string(lsn), note)));
    ++lsn;
  }
  ASSERT_OK(writer->Finish(0));
  EXPECT_LT(PeakRssKib() - before, 16 * 1024) << "peak RSS grew while writing";
}

}  // namespace
}  // namespace walship::proto
