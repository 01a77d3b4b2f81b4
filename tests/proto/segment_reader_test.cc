// Tests for SegmentReader: round trips in both codecs, multi-frame segments, and refusal of
// every corrupt or truncated object with a kDataLoss error naming the object and offset.
#include "proto/segment_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/segment_format.h"
#include "tests/proto/segment_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::proto {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::walship::proto::testing::FirstFrameOffset;
using ::walship::proto::testing::Insert;
using ::walship::proto::testing::kObjectName;
using ::walship::proto::testing::Message;
using ::walship::proto::testing::ReadAll;
using ::walship::proto::testing::ReadU32;
using ::walship::proto::testing::RelationDef;
using ::walship::proto::testing::Reseal;
using ::walship::proto::testing::TrailerOffset;
using ::walship::proto::testing::WriteSegment;
using ::walship::proto::testing::WriteU32;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

// kDataLoss, naming the object and a byte offset.
auto IsDataLossAtOffset() {
  return StatusIs(absl::StatusCode::kDataLoss,
                  AllOf(HasSubstr(absl::StrCat("\"", kObjectName, "\"")),
                        MatchesRegex(".* at byte [0-9]+: .*")));
}

// Records exercising every Value kind, relation definitions, UPDATE/DELETE/TRUNCATE and
// messages with binary content.
std::vector<v1::Record> VariedRecords(int transactions) {
  std::vector<v1::Record> records;
  records.push_back(RelationDef(16384));
  records.push_back(RelationDef(16390));
  for (int i = 0; i < transactions; ++i) {
    const uint64_t lsn = 0x16B3748 + 0x100 * i;
    const uint32_t xid = 700 + i;
    records.push_back(Insert(lsn, 1, xid, 16384, std::to_string(i), "Zoë 😀 \t\n\\x00ff"));
    v1::Record update = Insert(lsn, 2, xid, 16384, std::to_string(i), "");
    v1::Event* event = update.mutable_event();
    event->set_op(v1::UPDATE);
    event->mutable_new_row()->add_values()->set_null(true);
    event->mutable_new_row()->add_values()->set_unchanged_toast(true);
    event->mutable_old_row()->add_values()->set_text(std::to_string(i));
    event->mutable_old_row()->add_values()->set_null(true);
    event->set_old_is_key_only(true);
    records.push_back(update);
    v1::Record del = Insert(lsn, 3, xid, 16390, "", "");
    del.mutable_event()->set_op(v1::DELETE);
    del.mutable_event()->clear_new_row();
    del.mutable_event()->mutable_old_row()->add_values()->set_text(std::to_string(i));
    records.push_back(del);
    if (i % 50 == 0) {
      v1::Record truncate = Insert(lsn, 4, xid, 16390, "", "");
      truncate.mutable_event()->set_op(v1::TRUNCATE);
      truncate.mutable_event()->clear_new_row();
      *truncate.mutable_event()->mutable_truncate()->add_relations() =
          testing::MakeRelation(16390);
      truncate.mutable_event()->mutable_truncate()->set_cascade(true);
      records.push_back(truncate);
      records.push_back(Message(lsn, 5, xid, "bin", std::string("\0\xff\x80zz", 5)));
    }
  }
  return records;
}

void ExpectSameRecords(const std::vector<v1::Record>& got,
                       const std::vector<v1::Record>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].SerializeAsString(), want[i].SerializeAsString()) << "record " << i;
  }
}

class SegmentRoundTrip : public ::testing::TestWithParam<v1::Codec> {};

TEST_P(SegmentRoundTrip, ReturnsEveryRecordAsWritten) {
  std::vector<v1::Record> records = VariedRecords(300);
  std::string segment = WriteSegment(records, GetParam(), 0x16B0000);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> got, ReadAll(segment));
  ExpectSameRecords(got, records);

  auto source = MakeStringSource(kObjectName, segment);
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(source.get()));
  EXPECT_EQ(reader->header().codec(), GetParam());
  EXPECT_EQ(reader->trailer().record_count(), records.size());
  EXPECT_EQ(reader->trailer().transaction_count(), 300u);
  EXPECT_EQ(reader->trailer().previous_end_lsn(), 0x16B0000u);
  // Value kinds survive distinctly.
  const v1::Row& row = got[3].event().new_row();
  ASSERT_EQ(row.values_size(), 4);
  EXPECT_EQ(row.values(1).kind_case(), v1::Value::kText);
  EXPECT_EQ(row.values(1).text(), "");
  EXPECT_EQ(row.values(2).kind_case(), v1::Value::kNull);
  EXPECT_EQ(row.values(3).kind_case(), v1::Value::kUnchangedToast);
  // After the end, Next keeps saying so.
  v1::Record record;
  while (true) {
    ASSERT_OK_AND_ASSIGN(bool more, reader->Next(&record));
    if (!more) break;
  }
  ASSERT_OK_AND_ASSIGN(bool more, reader->Next(&record));
  EXPECT_FALSE(more);
}

TEST_P(SegmentRoundTrip, SpansManyFrames) {
  std::vector<v1::Record> records;
  std::string note;
  for (int i = 0; i < 3000; ++i) note.push_back(static_cast<char>('a' + (i * 31) % 26));
  uint64_t raw = 0;
  for (int i = 0; raw < 8 * kTargetFrameRawBytes; ++i) {
    records.push_back(Insert(0x1000 + i / 10, i % 10 + 1, 900 + i / 10, 1,
                             std::to_string(i), note + std::to_string(i)));
    raw += records.back().ByteSizeLong();
  }
  std::string segment = WriteSegment(records, GetParam());
  // Count frames by walking the layout.
  size_t frames = 0;
  for (size_t offset = FirstFrameOffset(segment); offset < TrailerOffset(segment);
       offset += kFrameHeaderBytes + ReadU32(segment, offset + 1)) {
    ++frames;
  }
  EXPECT_GE(frames, 8u);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> got, ReadAll(segment));
  ExpectSameRecords(got, records);
}

TEST_P(SegmentRoundTrip, EmptySegmentReadsNoRecords) {
  std::string segment = WriteSegment({}, GetParam());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> got, ReadAll(segment));
  EXPECT_TRUE(got.empty());
}

TEST_P(SegmentRoundTrip, ThroughAFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/seg";
  std::vector<v1::Record> records = VariedRecords(500);
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_GE(fd, 0);
    FdByteSink sink(fd, path);
    ASSERT_OK_AND_ASSIGN(auto writer,
                         SegmentWriter::Create(&sink, testing::MakeHeader(GetParam())));
    for (const v1::Record& record : records) ASSERT_OK(writer->Add(record));
    ASSERT_OK(writer->Finish(7));
    EXPECT_EQ(sink.size(), writer->bytes_written());
    ASSERT_EQ(::close(fd), 0);
  }
  ASSERT_OK_AND_ASSIGN(auto source, OpenFileSource(kObjectName, path));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> got, ReadAll(*source));
  ExpectSameRecords(got, records);
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer trailer, ReadSegmentTrailer(source.get()));
  EXPECT_EQ(trailer.previous_end_lsn(), 7u);

  // Cut the file short: refused as truncated.
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(source->size() / 2)), 0);
  ASSERT_OK_AND_ASSIGN(auto cut, OpenFileSource(kObjectName, path));
  EXPECT_THAT(ReadAll(*cut), AllOf(IsDataLossAtOffset(),
                                   StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("truncated"))));
}

INSTANTIATE_TEST_SUITE_P(Codecs, SegmentRoundTrip,
                         ::testing::Values(v1::CODEC_ZSTD, v1::CODEC_NONE),
                         [](const auto& info) { return v1::Codec_Name(info.param); });

// --- corruption --------------------------------------------------------------------------

class SegmentCorruption : public ::testing::TestWithParam<v1::Codec> {
 protected:
  std::string Small() {
    return WriteSegment(
        {RelationDef(1), Insert(0x10, 1, 3, 1, "1", "one"), Insert(0x10, 2, 3, 1, "2", "two"),
         Message(0x20, 1, 4, "walship", "mark:m")},
        GetParam());
  }
};

TEST_P(SegmentCorruption, EverySingleByteFlipIsRefused) {
  const std::string good = Small();
  ASSERT_OK(ReadAll(good).status());
  for (size_t i = 0; i < good.size(); ++i) {
    for (char mask : {'\x01', '\x80'}) {
      std::string bad = good;
      bad[i] ^= mask;
      auto source = MakeStringSource(kObjectName, bad);
      EXPECT_THAT(ReadAll(*source), IsDataLossAtOffset()) << "flipped byte " << i;
      EXPECT_THAT(ReadSegmentTrailer(source.get()), IsDataLossAtOffset())
          << "flipped byte " << i;
    }
  }
}

TEST_P(SegmentCorruption, NamesTheRegionThatIsDamaged) {
  const std::string good = Small();
  const size_t size = good.size();
  struct Case {
    size_t offset;
    std::string message;
  } cases[] = {
      {0, "is corrupt at byte 0: bad magic"},
      {14, absl::StrCat("is corrupt at byte ", size - kFooterBytes + 4, ": sha-256")},
      {FirstFrameOffset(good) + kFrameHeaderBytes + 2, "sha-256 checksum mismatch"},
      {TrailerOffset(good) + 6, "sha-256 checksum mismatch"},
      {size - kFooterBytes + 10, "sha-256 checksum mismatch"},
      {size - kFooterBytes + 1, "trailer offset"},
      {size - 1, absl::StrCat("is truncated at byte ", size - 8, ": end marker missing")},
  };
  for (const Case& c : cases) {
    std::string bad = good;
    bad[c.offset] ^= '\x40';
    EXPECT_THAT(ReadAll(bad), AllOf(IsDataLossAtOffset(),
                                    StatusIs(absl::StatusCode::kDataLoss,
                                             HasSubstr(c.message))))
        << "offset " << c.offset;
  }
}

TEST_P(SegmentCorruption, EveryTruncationIsRefusedAsTruncated) {
  const std::string good = Small();
  for (size_t n = 0; n < good.size(); ++n) {
    auto source = MakeStringSource(kObjectName, good.substr(0, n));
    EXPECT_THAT(ReadAll(*source), AllOf(IsDataLossAtOffset(),
                                        StatusIs(absl::StatusCode::kDataLoss,
                                                 HasSubstr("truncated"))))
        << "length " << n;
  }
}

TEST_P(SegmentCorruption, TruncatedMultiFrameSegmentIsRefused) {
  std::vector<v1::Record> records = VariedRecords(4000);
  const std::string good = WriteSegment(records, GetParam());
  ASSERT_GT(good.size(), 2 * kTargetFrameRawBytes / (GetParam() == v1::CODEC_ZSTD ? 20 : 1));
  for (size_t n : {size_t{0}, size_t{11}, size_t{60}, good.size() / 3, good.size() / 2,
                   good.size() - kFooterBytes, good.size() - 1}) {
    EXPECT_THAT(ReadAll(good.substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")))
        << "length " << n;
  }
  // Extra bytes at the end hide the footer: refused too.
  EXPECT_THAT(ReadAll(good + "x"), IsDataLossAtOffset());
}

// Damage behind a valid whole-object checksum reaches the per-frame checks.
TEST_P(SegmentCorruption, FrameChecksAfterReseal) {
  const std::string good = Small();
  const size_t frame = FirstFrameOffset(good);
  {
    std::string bad = good;
    bad[frame + kFrameHeaderBytes + 1] ^= '\x10';
    Reseal(&bad);
    EXPECT_THAT(ReadAll(bad),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr(absl::StrCat("at byte ", frame, ": frame checksum mismatch"))));
  }
  {
    std::string bad = good;
    bad[frame] = 9;
    Reseal(&bad);
    EXPECT_THAT(ReadAll(bad), StatusIs(absl::StatusCode::kDataLoss,
                                       HasSubstr("unknown frame type 9")));
  }
  {
    std::string bad = good;
    WriteU32(&bad, frame + 1, kMaxFrameBytes + 1);
    Reseal(&bad);
    EXPECT_THAT(ReadAll(bad),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("exceed the limit")));
  }
  {
    std::string bad = good;
    WriteU32(&bad, frame + 1, ReadU32(good, frame + 1) + 1000);
    Reseal(&bad);
    EXPECT_THAT(ReadAll(bad),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("runs into the trailer")));
  }
  {
    std::string bad = good;
    WriteU32(&bad, frame + 5, ReadU32(good, frame + 5) + 1);
    Reseal(&bad);
    EXPECT_THAT(ReadAll(bad), IsDataLossAtOffset());
  }
  {
    // Garbage records behind a matching crc: bounds-checked, never a crash.
    std::string bad = good;
    const uint32_t stored_len = ReadU32(good, frame + 1);
    for (uint32_t i = 0; i < stored_len; ++i) bad[frame + kFrameHeaderBytes + i] = '\xff';
    WriteU32(&bad, frame + 9,
             internal::Crc32(absl::string_view(bad).substr(frame + kFrameHeaderBytes,
                                                           stored_len)));
    Reseal(&bad);
    EXPECT_THAT(ReadAll(bad), IsDataLossAtOffset());
  }
}

TEST_P(SegmentCorruption, RefusesAnUnsupportedFormatVersion) {
  std::string bad = Small();
  // The header proto starts with field 1 (format_version) = 2: bytes 0x08 0x02.
  const size_t header = sizeof(kSegmentMagic) + 4;
  ASSERT_EQ(bad[header], '\x08');
  ASSERT_EQ(bad[header + 1], '\x02');
  bad[header + 1] = '\x04';
  Reseal(&bad);
  EXPECT_THAT(ReadAll(bad), StatusIs(absl::StatusCode::kDataLoss,
                                     AllOf(HasSubstr("format version 4 is not supported"),
                                           HasSubstr("written by a newer walship"))));
  // Format 1 (before incarnations) is still read.
  bad[header + 1] = '\x01';
  Reseal(&bad);
  EXPECT_OK(ReadAll(bad).status());
}

TEST_P(SegmentCorruption, TrailerRecordCountMustMatchTheFrames) {
  // A segment whose trailer claims more records than its frames hold.
  std::string good = Small();
  auto source = MakeStringSource(kObjectName, good);
  ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer trailer, ReadSegmentTrailer(source.get()));
  trailer.set_record_count(trailer.record_count() + 1);
  const size_t trailer_offset = TrailerOffset(good);
  std::string bytes = trailer.SerializeAsString();
  std::string bad = good.substr(0, trailer_offset);
  bad.push_back(static_cast<char>(kFrameTrailer));
  internal::PutFixed32(&bad, static_cast<uint32_t>(bytes.size()));
  bad += bytes;
  bad += good.substr(good.size() - kFooterBytes);
  Reseal(&bad);
  EXPECT_THAT(ReadAll(bad), StatusIs(absl::StatusCode::kDataLoss,
                                     HasSubstr("trailer counts 5 records, frames hold 4")));
}

INSTANTIATE_TEST_SUITE_P(Codecs, SegmentCorruption,
                         ::testing::Values(v1::CODEC_ZSTD, v1::CODEC_NONE),
                         [](const auto& info) { return v1::Codec_Name(info.param); });

TEST(SegmentReader, RefusesTooShortAndForeignObjects) {
  EXPECT_THAT(ReadAll(std::string()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("segment \"", kObjectName,
                                              "\" is truncated at byte 0"))));
  EXPECT_THAT(ReadAll(std::string(200, 'z')),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad magic")));
}

}  // namespace
}  // namespace walship::proto
