// Tests for PgOutputDecoder over hand-built protocol-2 messages: one fixture per message
// type (in and out of a streamed block where the layout differs), every tuple column kind,
// flag validation and stream state. Malformed input and the table-driven checks over every
// fixture: pgoutput_decoder_malformed_test.cc.
#include "agent/pg/pgoutput_decoder.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/pg/pgoutput_decoder_test_util.h"
#include "tests/testing/pgoutput_bytes.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::walship::testing::Bytes;
using ::walship::testing::StatusIs;

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

}  // namespace
}  // namespace walship::agent
