// PgOutputDecoder on malformed input (overflowing timestamps, messages out of place, unknown
// types and kinds, huge counts), and a table-driven check that every truncation of every
// fixture fails cleanly with kDataLoss, as do trailing and corrupted bytes.
#include "agent/pg/pgoutput_decoder.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/pg/pgoutput_decoder_test_util.h"
#include "tests/testing/pgoutput_bytes.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::Bytes;
using ::walship::testing::StatusIs;

TEST(PgOutputDecoder, RejectsTimestampThatWouldOverflow) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Bytes().Char('B').U64(1).I64(INT64_MAX).U32(1)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("BEGIN message at byte 9: commit time")));
}

TEST(PgOutputDecoder, RejectsMessagesThatCannotAppearInsideStream) {
  for (const std::string& bytes : {Begin(), Commit(), StreamStart(), StreamCommit(),
                                   StreamAbort()}) {
    PgOutputDecoder decoder = StreamingDecoder();
    EXPECT_THAT(decoder.Decode(bytes),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("inside a streamed block")))
        << PgOutputMessageTypeName(bytes[0]);
    EXPECT_TRUE(decoder.in_stream());
  }
}

TEST(PgOutputDecoder, RejectsStreamStopOutsideStream) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(StreamStop()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("outside a streamed block")));
}

TEST(PgOutputDecoder, FailedMessageDoesNotChangeStreamState) {
  PgOutputDecoder decoder = StreamingDecoder();
  EXPECT_THAT(decoder.Decode(StreamStop() + "x"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_TRUE(decoder.in_stream());
}

TEST(PgOutputDecoder, RejectsEmptyInput) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(""), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("empty")));
}

TEST(PgOutputDecoder, RejectsUnknownMessageType) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Bytes().Char('X').U32(1)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("malformed pgoutput 0x58 message at byte 0: unknown")));
  // Protocol 3 (two-phase) messages are named but not decoded.
  EXPECT_THAT(decoder.Decode(Bytes().Char('b').U64(1).U64(2).I64(3).U32(4).Str("gid")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("BEGIN PREPARE message")));
}

TEST(PgOutputDecoder, RejectsUnknownTupleKind) {
  PgOutputDecoder decoder;
  auto bytes = Bytes().Char('I').U32(16395).Char('N').U16(2).Text("1").Char('x');
  EXPECT_THAT(decoder.Decode(bytes),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("INSERT message at byte 14: unknown kind 0x78 of column 2")));
}

TEST(PgOutputDecoder, RejectsNegativeColumnLength) {
  PgOutputDecoder decoder;
  auto bytes = Bytes().Char('I').U32(16395).Char('N').U16(1).Char('t').I32(-1);
  EXPECT_THAT(decoder.Decode(bytes),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("at byte 9: negative column length -1")));
}

TEST(PgOutputDecoder, RejectsHugeCountsWithoutAllocating) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Bytes().Char('T').I32(INT32_MAX).U8(0).U32(1)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_THAT(decoder.Decode(Bytes().Char('I').U32(1).Char('N').U16(65535).Null()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_THAT(decoder.Decode(Bytes().Char('I').U32(1).Char('N').U16(1).Char('t').I32(
                  INT32_MAX)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
}

struct Fixture {
  std::string name;
  bool in_stream;
  std::string bytes;
};

std::vector<Fixture> AllFixtures() {
  std::vector<Fixture> fixtures = {
      {"begin", false, Begin()},
      {"commit", false, Commit()},
      {"origin", false, Origin()},
      {"stream start", false, StreamStart()},
      {"stream stop", true, StreamStop()},
      {"stream commit", false, StreamCommit()},
      {"stream abort", false, StreamAbort()},
  };
  for (bool in_stream : {false, true}) {
    const std::string where = in_stream ? " in stream" : "";
    fixtures.push_back({"relation" + where, in_stream, Relation(in_stream)});
    fixtures.push_back({"type" + where, in_stream, Type(in_stream)});
    fixtures.push_back({"insert" + where, in_stream, Insert(in_stream)});
    fixtures.push_back({"update" + where, in_stream, UpdateWithoutOld(in_stream)});
    fixtures.push_back({"update K" + where, in_stream, UpdateWithOld(in_stream, 'K')});
    fixtures.push_back({"update O" + where, in_stream, UpdateWithOld(in_stream, 'O')});
    fixtures.push_back({"delete K" + where, in_stream, Delete(in_stream, 'K')});
    fixtures.push_back({"delete O" + where, in_stream, Delete(in_stream, 'O')});
    fixtures.push_back({"truncate" + where, in_stream, Truncate(in_stream, 3)});
    fixtures.push_back({"message" + where, in_stream, Message(in_stream, 1)});
  }
  fixtures.push_back({"message non-transactional", false, Message(false, 0)});
  return fixtures;
}

TEST(PgOutputDecoder, EveryFixtureDecodesWhole) {
  for (const Fixture& f : AllFixtures()) {
    PgOutputDecoder decoder = f.in_stream ? StreamingDecoder() : PgOutputDecoder();
    EXPECT_TRUE(decoder.Decode(f.bytes).ok()) << f.name;
  }
}

TEST(PgOutputDecoder, EveryTruncationOfEveryFixtureIsDataLoss) {
  for (const Fixture& f : AllFixtures()) {
    for (size_t length = 0; length < f.bytes.size(); ++length) {
      PgOutputDecoder decoder = f.in_stream ? StreamingDecoder() : PgOutputDecoder();
      EXPECT_THAT(decoder.Decode(absl::string_view(f.bytes).substr(0, length)),
                  StatusIs(absl::StatusCode::kDataLoss))
          << f.name << " cut to " << length << " of " << f.bytes.size() << " bytes";
      EXPECT_EQ(decoder.in_stream(), f.in_stream) << f.name;
    }
  }
}

TEST(PgOutputDecoder, TrailingBytesAfterEveryFixtureAreDataLoss) {
  for (const Fixture& f : AllFixtures()) {
    PgOutputDecoder decoder = f.in_stream ? StreamingDecoder() : PgOutputDecoder();
    const std::string bytes = f.bytes + std::string(1, '\0');
    EXPECT_THAT(decoder.Decode(bytes),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("at byte " + std::to_string(f.bytes.size()) +
                                   ": 1 unexpected trailing bytes")))
        << f.name;
  }
}

TEST(PgOutputDecoder, CorruptedBytesDecodeOrFailWithDataLoss) {
  // Overwrites every byte of every fixture with values that hit length fields, markers
  // and flags; the decoder must either accept the result or report kDataLoss.
  for (const Fixture& f : AllFixtures()) {
    for (size_t i = 0; i < f.bytes.size(); ++i) {
      for (char value : {'\x00', '\x01', '\x7f', '\x80', '\xff', 'N', 't', 'K'}) {
        std::string bytes = f.bytes;
        bytes[i] = value;
        PgOutputDecoder decoder = f.in_stream ? StreamingDecoder() : PgOutputDecoder();
        auto result = decoder.Decode(bytes);
        if (!result.ok()) {
          EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss)
              << f.name << " byte " << i << ": " << result.status();
        }
      }
    }
  }
}

TEST(PgOutputMessageTypeName, NamesEveryTypeAndNeverFails) {
  const std::vector<std::pair<char, std::string>> cases = {
      {'B', "BEGIN"},         {'C', "COMMIT"},         {'O', "ORIGIN"},
      {'R', "RELATION"},      {'Y', "TYPE"},           {'I', "INSERT"},
      {'U', "UPDATE"},        {'D', "DELETE"},         {'T', "TRUNCATE"},
      {'M', "MESSAGE"},       {'S', "STREAM START"},   {'E', "STREAM STOP"},
      {'c', "STREAM COMMIT"}, {'A', "STREAM ABORT"},   {'b', "BEGIN PREPARE"},
      {'P', "PREPARE"},       {'K', "COMMIT PREPARED"}, {'r', "ROLLBACK PREPARED"},
      {'p', "STREAM PREPARE"}, {'?', "0x3F"},           {'\0', "0x00"},
      {'\xff', "0xFF"},
  };
  for (const auto& [type, name] : cases) EXPECT_EQ(PgOutputMessageTypeName(type), name);
}

}  // namespace
}  // namespace walship::agent
