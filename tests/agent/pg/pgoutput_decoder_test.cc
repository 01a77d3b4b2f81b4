// Tests for PgOutputDecoder over hand-built protocol-2 messages: one fixture per message
// type (in and out of a streamed block where the layout differs), every tuple column kind,
// flag validation, stream state, and a table-driven check that every truncation of every
// fixture fails cleanly with kDataLoss.
#include "agent/pg/pgoutput_decoder.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pgoutput_bytes.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::walship::testing::Bytes;
using ::walship::testing::StatusIs;

constexpr int64_t kPgEpochUs = 946684800000000;  // 2000-01-01 in Unix microseconds
constexpr uint32_t kStreamXid = 742;

template <typename T>
T DecodeAs(PgOutputDecoder& decoder, const std::string& bytes) {
  auto result = decoder.Decode(bytes);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*result)) << "variant index " << result->index();
  if (!std::holds_alternative<T>(*result)) return T{};
  return std::get<T>(*std::move(result));
}

std::string StreamStart(uint32_t xid = kStreamXid, uint8_t first = 1) {
  return Bytes().Char('S').U32(xid).U8(first);
}

// A decoder that has just seen Stream Start.
PgOutputDecoder StreamingDecoder() {
  PgOutputDecoder decoder;
  EXPECT_TRUE(decoder.Decode(StreamStart()).ok());
  EXPECT_TRUE(decoder.in_stream());
  return decoder;
}

// Adds the streamed-block xid after the type byte when `in_stream`.
Bytes Header(char type, bool in_stream) {
  Bytes b;
  b.Char(type);
  if (in_stream) b.U32(kStreamXid);
  return b;
}

std::string Begin() {
  return Bytes().Char('B').U64(0x16B3748).I64(1000000).U32(732);
}
std::string Commit(uint8_t flags = 0) {
  return Bytes().Char('C').U8(flags).U64(0x16B3748).U64(0x16B3780).I64(2000000);
}
std::string Origin() { return Bytes().Char('O').U64(0xABCDEF).Str("upstream"); }
std::string Relation(bool in_stream, char identity = 'd', uint8_t column_flags = 1) {
  return Header('R', in_stream)
      .U32(16395)
      .Str("public")
      .Str("crm")
      .Char(identity)
      .U16(3)
      .U8(column_flags).Str("id").U32(23).I32(-1)
      .U8(0).Str("score").U32(1700).I32(655366)
      .U8(0).Str("m").U32(16390).I32(-1);
}
std::string Type(bool in_stream) {
  return Header('Y', in_stream).U32(16390).Str("public").Str("mood");
}
std::string Insert(bool in_stream) {
  return Header('I', in_stream)
      .U32(16395)
      .Char('N')
      .U16(4)
      .Null()
      .Toast()
      .Text("alice")
      .Binary(std::string("\x00\x01\xff", 3));
}
std::string UpdateWithoutOld(bool in_stream) {
  return Header('U', in_stream).U32(16395).Char('N').U16(2).Text("1").Toast();
}
std::string UpdateWithOld(bool in_stream, char old_kind) {
  return Header('U', in_stream)
      .U32(16395)
      .Char(old_kind)
      .U16(2).Text("1").Null()
      .Char('N')
      .U16(2).Text("2").Text("bob");
}
std::string Delete(bool in_stream, char old_kind) {
  return Header('D', in_stream).U32(16395).Char(old_kind).U16(1).Text("7");
}
std::string Truncate(bool in_stream, uint8_t options) {
  return Header('T', in_stream).I32(2).U8(options).U32(16395).U32(16402);
}
std::string Message(bool in_stream, uint8_t flags) {
  return Header('M', in_stream).U8(flags).U64(0x1515B08).Str("walship").U32(5).Raw("hello");
}
std::string StreamStop() { return Bytes().Char('E'); }
std::string StreamCommit(uint8_t flags = 0) {
  return Bytes().Char('c').U32(kStreamXid).U8(flags).U64(0x1580DE0).U64(0x1580E58).I64(-1);
}
std::string StreamAbort() { return Bytes().Char('A').U32(kStreamXid).U32(747); }

TEST(PgOutputDecoder, DecodesBeginAndConvertsTheEpoch) {
  PgOutputDecoder decoder;
  auto m = DecodeAs<BeginMessage>(decoder, Begin());
  EXPECT_EQ(m.final_lsn, Lsn(0x16B3748));
  EXPECT_EQ(m.commit_time_us, kPgEpochUs + 1000000);
  EXPECT_EQ(m.xid, Xid(732));
}

TEST(PgOutputDecoder, DecodesCommit) {
  PgOutputDecoder decoder;
  auto m = DecodeAs<CommitMessage>(decoder, Commit());
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, Lsn(0x16B3748));
  EXPECT_EQ(m.end_lsn, Lsn(0x16B3780));
  EXPECT_EQ(m.commit_time_us, kPgEpochUs + 2000000);
}

TEST(PgOutputDecoder, RejectsUnknownCommitFlags) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Commit(1)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("COMMIT message at byte 1: unknown commit flags 0x01")));
}

TEST(PgOutputDecoder, DecodesOrigin) {
  PgOutputDecoder decoder;
  auto m = DecodeAs<OriginMessage>(decoder, Origin());
  EXPECT_EQ(m.commit_lsn, Lsn(0xABCDEF));
  EXPECT_EQ(m.name, "upstream");
}

TEST(PgOutputDecoder, DecodesRelationOutsideAndInsideStream) {
  for (bool in_stream : {false, true}) {
    PgOutputDecoder decoder = in_stream ? StreamingDecoder() : PgOutputDecoder();
    auto m = DecodeAs<RelationMessage>(decoder, Relation(in_stream));
    EXPECT_EQ(m.xid, in_stream ? std::optional<Xid>(Xid(kStreamXid)) : std::nullopt);
    EXPECT_EQ(m.oid, RelationOid(16395));
    EXPECT_EQ(m.schema, "public");
    EXPECT_EQ(m.table, "crm");
    EXPECT_EQ(m.replica_identity, 'd');
    ASSERT_EQ(m.columns.size(), 3u);
    EXPECT_TRUE(m.columns[0].key);
    EXPECT_EQ(m.columns[0].name, "id");
    EXPECT_EQ(m.columns[0].type_oid, 23u);
    EXPECT_EQ(m.columns[0].type_modifier, -1);
    EXPECT_FALSE(m.columns[1].key);
    EXPECT_EQ(m.columns[1].name, "score");
    EXPECT_EQ(m.columns[1].type_oid, 1700u);
    EXPECT_EQ(m.columns[1].type_modifier, 655366);
    EXPECT_EQ(m.columns[2].type_oid, 16390u);
  }
}

TEST(PgOutputDecoder, AcceptsEveryReplicaIdentity) {
  for (char identity : {'d', 'n', 'f', 'i'}) {
    PgOutputDecoder decoder;
    EXPECT_EQ(DecodeAs<RelationMessage>(decoder, Relation(false, identity)).replica_identity,
              identity);
  }
}

TEST(PgOutputDecoder, RejectsUnknownReplicaIdentity) {
  PgOutputDecoder decoder;
  // 1 type + 4 oid + "public\0" (7) + "crm\0" (4) = byte 16.
  EXPECT_THAT(decoder.Decode(Relation(false, 'x')),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("RELATION message at byte 16: unknown replica identity")));
}

TEST(PgOutputDecoder, RejectsUnknownColumnFlags) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Relation(false, 'd', 3)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("at byte 19: unknown flags 0x03 of column 1")));
}

TEST(PgOutputDecoder, DecodesTypeOutsideAndInsideStream) {
  for (bool in_stream : {false, true}) {
    PgOutputDecoder decoder = in_stream ? StreamingDecoder() : PgOutputDecoder();
    auto m = DecodeAs<TypeMessage>(decoder, Type(in_stream));
    EXPECT_EQ(m.xid, in_stream ? std::optional<Xid>(Xid(kStreamXid)) : std::nullopt);
    EXPECT_EQ(m.oid, 16390u);
    EXPECT_EQ(m.schema, "public");
    EXPECT_EQ(m.name, "mood");
  }
}

TEST(PgOutputDecoder, DecodesInsertWithEveryColumnKind) {
  for (bool in_stream : {false, true}) {
    PgOutputDecoder decoder = in_stream ? StreamingDecoder() : PgOutputDecoder();
    auto m = DecodeAs<InsertMessage>(decoder, Insert(in_stream));
    EXPECT_EQ(m.xid, in_stream ? std::optional<Xid>(Xid(kStreamXid)) : std::nullopt);
    EXPECT_EQ(m.relation, RelationOid(16395));
    ASSERT_EQ(m.new_tuple.size(), 4u);
    EXPECT_EQ(m.new_tuple[0].kind, TupleValue::Kind::kNull);
    EXPECT_EQ(m.new_tuple[1].kind, TupleValue::Kind::kUnchangedToast);
    EXPECT_EQ(m.new_tuple[2].kind, TupleValue::Kind::kText);
    EXPECT_EQ(m.new_tuple[2].data, "alice");
    EXPECT_EQ(m.new_tuple[3].kind, TupleValue::Kind::kBinary);
    EXPECT_EQ(m.new_tuple[3].data, std::string("\x00\x01\xff", 3));
  }
}

TEST(PgOutputDecoder, DecodesEmptyTextAndZeroColumns) {
  PgOutputDecoder decoder;
  auto m = DecodeAs<InsertMessage>(decoder, Bytes().Char('I').U32(1).Char('N').U16(1).Text(""));
  ASSERT_EQ(m.new_tuple.size(), 1u);
  EXPECT_EQ(m.new_tuple[0].kind, TupleValue::Kind::kText);
  EXPECT_EQ(m.new_tuple[0].data, "");
  auto empty = DecodeAs<InsertMessage>(decoder, Bytes().Char('I').U32(1).Char('N').U16(0));
  EXPECT_TRUE(empty.new_tuple.empty());
}

TEST(PgOutputDecoder, DecodesUpdateWithoutOldTuple) {
  for (bool in_stream : {false, true}) {
    PgOutputDecoder decoder = in_stream ? StreamingDecoder() : PgOutputDecoder();
    auto m = DecodeAs<UpdateMessage>(decoder, UpdateWithoutOld(in_stream));
    EXPECT_EQ(m.xid, in_stream ? std::optional<Xid>(Xid(kStreamXid)) : std::nullopt);
    EXPECT_EQ(m.relation, RelationOid(16395));
    EXPECT_EQ(m.old_kind, std::nullopt);
    EXPECT_TRUE(m.old_tuple.empty());
    ASSERT_EQ(m.new_tuple.size(), 2u);
    EXPECT_EQ(m.new_tuple[0].data, "1");
    EXPECT_EQ(m.new_tuple[1].kind, TupleValue::Kind::kUnchangedToast);
  }
}

TEST(PgOutputDecoder, DecodesUpdateWithOldKeyOrOldRow) {
  for (bool in_stream : {false, true}) {
    for (char kind : {'K', 'O'}) {
      PgOutputDecoder decoder = in_stream ? StreamingDecoder() : PgOutputDecoder();
      auto m = DecodeAs<UpdateMessage>(decoder, UpdateWithOld(in_stream, kind));
      EXPECT_EQ(m.xid, in_stream ? std::optional<Xid>(Xid(kStreamXid)) : std::nullopt);
      EXPECT_EQ(m.old_kind, std::optional<char>(kind));
      ASSERT_EQ(m.old_tuple.size(), 2u);
      EXPECT_EQ(m.old_tuple[0].data, "1");
      EXPECT_EQ(m.old_tuple[1].kind, TupleValue::Kind::kNull);
      ASSERT_EQ(m.new_tuple.size(), 2u);
      EXPECT_EQ(m.new_tuple[0].data, "2");
      EXPECT_EQ(m.new_tuple[1].data, "bob");
    }
  }
}

TEST(PgOutputDecoder, RejectsUpdateWhoseOldTupleIsNotFollowedByNew) {
  PgOutputDecoder decoder;
  std::string bytes = UpdateWithOld(false, 'K');
  bytes[1 + 4 + 1 + 2 + 6 + 1] = 'K';  // the 'N' marker after the old tuple
  EXPECT_THAT(decoder.Decode(bytes),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("UPDATE message at byte 15: tuple marker 0x4B")));
}

TEST(PgOutputDecoder, DecodesDeleteWithOldKeyOrOldRow) {
  for (bool in_stream : {false, true}) {
    for (char kind : {'K', 'O'}) {
      PgOutputDecoder decoder = in_stream ? StreamingDecoder() : PgOutputDecoder();
      auto m = DecodeAs<DeleteMessage>(decoder, Delete(in_stream, kind));
      EXPECT_EQ(m.xid, in_stream ? std::optional<Xid>(Xid(kStreamXid)) : std::nullopt);
      EXPECT_EQ(m.relation, RelationOid(16395));
      EXPECT_EQ(m.old_kind, kind);
      ASSERT_EQ(m.old_tuple.size(), 1u);
      EXPECT_EQ(m.old_tuple[0].data, "7");
    }
  }
}

TEST(PgOutputDecoder, RejectsDeleteWithNewTupleMarker) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Delete(false, 'N')),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("DELETE message at byte 5: tuple marker 0x4E")));
}

TEST(PgOutputDecoder, DecodesTruncateOptions) {
  for (bool in_stream : {false, true}) {
    for (uint8_t options : {0, 1, 2, 3}) {
      PgOutputDecoder decoder = in_stream ? StreamingDecoder() : PgOutputDecoder();
      auto m = DecodeAs<TruncateMessage>(decoder, Truncate(in_stream, options));
      EXPECT_EQ(m.xid, in_stream ? std::optional<Xid>(Xid(kStreamXid)) : std::nullopt);
      EXPECT_EQ(m.cascade, (options & 1) != 0);
      EXPECT_EQ(m.restart_identity, (options & 2) != 0);
      EXPECT_THAT(m.relations, ElementsAre(RelationOid(16395), RelationOid(16402)));
    }
  }
}

TEST(PgOutputDecoder, RejectsUnknownTruncateOptions) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Truncate(false, 4)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("TRUNCATE message at byte 5: unknown truncate options")));
}

TEST(PgOutputDecoder, RejectsNegativeTruncateCount) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Bytes().Char('T').I32(-1).U8(0)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("negative relation count")));
}

TEST(PgOutputDecoder, DecodesTransactionalAndNonTransactionalMessages) {
  for (uint8_t flags : {0, 1}) {
    PgOutputDecoder decoder;
    auto m = DecodeAs<LogicalMessage>(decoder, Message(false, flags));
    EXPECT_EQ(m.xid, std::nullopt);
    EXPECT_EQ(m.transactional, flags == 1);
    EXPECT_EQ(m.lsn, Lsn(0x1515B08));
    EXPECT_EQ(m.prefix, "walship");
    EXPECT_EQ(m.content, "hello");
  }
}

TEST(PgOutputDecoder, DecodesMessageInsideStreamWithXid) {
  PgOutputDecoder decoder = StreamingDecoder();
  auto m = DecodeAs<LogicalMessage>(decoder, Message(true, 1));
  EXPECT_EQ(m.xid, std::optional<Xid>(Xid(kStreamXid)));
  EXPECT_TRUE(m.transactional);
  EXPECT_EQ(m.content, "hello");
}

TEST(PgOutputDecoder, RejectsUnknownMessageFlags) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Message(false, 2)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("MESSAGE message at byte 1: unknown message flags 0x02")));
}

TEST(PgOutputDecoder, RejectsNegativeMessageLength) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(Bytes().Char('M').U8(0).U64(1).Str("p").I32(-5)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("negative content length")));
}

TEST(PgOutputDecoder, TracksStreamStartAndStop) {
  PgOutputDecoder decoder;
  EXPECT_FALSE(decoder.in_stream());
  auto start = DecodeAs<StreamStartMessage>(decoder, StreamStart(kStreamXid, 1));
  EXPECT_EQ(start.xid, Xid(kStreamXid));
  EXPECT_TRUE(start.first_segment);
  EXPECT_TRUE(decoder.in_stream());
  DecodeAs<StreamStopMessage>(decoder, StreamStop());
  EXPECT_FALSE(decoder.in_stream());
  auto again = DecodeAs<StreamStartMessage>(decoder, StreamStart(kStreamXid, 0));
  EXPECT_FALSE(again.first_segment);
  EXPECT_TRUE(decoder.in_stream());
}

TEST(PgOutputDecoder, RejectsBadFirstSegmentFlag) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(StreamStart(kStreamXid, 2)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("STREAM START message at byte 5: first segment flag")));
  EXPECT_FALSE(decoder.in_stream());
}

TEST(PgOutputDecoder, DecodesStreamCommit) {
  PgOutputDecoder decoder;
  auto m = DecodeAs<StreamCommitMessage>(decoder, StreamCommit());
  EXPECT_EQ(m.xid, Xid(kStreamXid));
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, Lsn(0x1580DE0));
  EXPECT_EQ(m.end_lsn, Lsn(0x1580E58));
  EXPECT_EQ(m.commit_time_us, kPgEpochUs - 1);
}

TEST(PgOutputDecoder, RejectsUnknownStreamCommitFlags) {
  PgOutputDecoder decoder;
  EXPECT_THAT(decoder.Decode(StreamCommit(2)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("STREAM COMMIT message at byte 5: unknown commit flags")));
}

TEST(PgOutputDecoder, DecodesStreamAbort) {
  PgOutputDecoder decoder;
  auto m = DecodeAs<StreamAbortMessage>(decoder, StreamAbort());
  EXPECT_EQ(m.xid, Xid(kStreamXid));
  EXPECT_EQ(m.subxid, Xid(747));
}

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
