// Decodes messages captured from a real PostgreSQL 15.18 server, to prove the decoder's
// layouts against reality rather than against our reading of the docs. Captured with
//   pg_logical_slot_peek_binary_changes('s', NULL, NULL, 'proto_version', '2',
//       'publication_names', 'pub', 'messages', 'true', 'streaming', 'true')
// under logical_decoding_work_mem=64kB, from a session that created enum "mood", tables
// crm(id int primary key, name text, score numeric(10,2), m mood, big text),
// other(k bigint) and full_ident(a int, b text) with REPLICA IDENTITY FULL, then ran
// updates (with an unchanged TOASTed column, and changing the key), deletes, a
// TRUNCATE ... RESTART IDENTITY CASCADE, two pg_logical_emit_message calls, one streamed
// transaction of 2991 rows, one that rolled back a streamed subtransaction, and one
// streamed transaction that rolled back. Messages are in server order; runs of inserts
// are thinned out (the decoder's state only depends on Stream Start/Stop).
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "agent/pg/pgoutput_decoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::ElementsAre;
using ::walship::testing::StatusIs;

struct Captured {
  uint32_t xid;     // the xid column of the peek (0 for the non-transactional message)
  const char* hex;  // the data column
};

constexpr Captured kCaptured[] = {
    {732, "4200000000015149800003041bc2e94ce2000002dc"},
    {732, "59000040067075626c6963006d6f6f6400"},
    {732,
     "520000400b7075626c69630063726d006400050169640000000017ffffffff006e616d65"
     "0000000019ffffffff0073636f726500000006a4000a0006006d0000004006ffffffff00"
     "6269670000000019ffffffff"},
    {732, "4300000000000151498000000000015149b00003041bc2e94ce2"},
    {733, "420000000001514a500003041bc2e94ee6000002dd"},
    {733,
     "550000400b4e00057400000001317400000005616c696365740000000531332e30307400"
     "000005686170707975"},
    {733, "43000000000001514a500000000001514a800003041bc2e94ee6"},
    {734, "420000000001514b700003041bc2e94f3f000002de"},
    {734,
     "550000400b4b00057400000001316e6e6e6e4e00057400000001327400000005616c6963"
     "65740000000531332e30307400000005686170707975"},
    {735, "420000000001514be00003041bc2e94fbe000002df"},
    {735,
     "52000040157075626c69630066756c6c5f6964656e740066000201610000000017ffffff"
     "ff01620000000019ffffffff"},
    {736, "420000000001514c680003041bc2e95022000002e0"},
    {736, "55000040154f00027400000001317400000001614e0002740000000131740000000162"},
    {737, "420000000001514ce00003041bc2e9504c000002e1"},
    {737, "44000040154f0002740000000131740000000162"},
    {738, "420000000001514dc00003041bc2e95077000002e2"},
    {738, "440000400b4b00057400000001326e6e6e6e"},
    {740, "4200000000015159780003041bc2e9530b000002e4"},
    {740, "52000040127075626c6963006f7468657200640001006b0000000014ffffffff"},
    {740,
     "52000040157075626c69630066756c6c5f6964656e740066000201610000000017ffffff"
     "ff01620000000019ffffffff"},
    {740, "5400000002030000401200004015"},
    {740, "430000000000015159780000000001515ac80003041bc2e9530b"},
    {741, "420000000001515b080003041bc2e95458000002e5"},
    {741, "4d010000000001515b0877616c73686970000000000568656c6c6f"},
    {741, "43000000000001515b080000000001515b380003041bc2e95458"},
    {0, "4d000000000001515b7877616c7368697000000000056e6f6e7478"},
    {742, "53000002e601"},
    {742, "59000002e6000040067075626c6963006d6f6f6400"},
    {742,
     "52000002e60000400b7075626c69630063726d006400050169640000000017ffffffff00"
     "6e616d650000000019ffffffff0073636f726500000006a4000a0006006d0000004006ff"
     "ffffff006269670000000019ffffffff"},
    {742,
     "49000002e60000400b4e00057400000002313074000000036e3130740000000531302e30"
     "3074000000037361646e"},
    {742, "45"},
    {742, "53000002e600"},
    {742,
     "49000002e60000400b4e0005740000000334353374000000046e34353374000000063435"
     "332e303074000000037361646e"},
    {742, "45"},
    {742, "53000002e600"},
    {742, "4d000002e6010000000001580b3877616c736869700000000009696e2d73747265616d"},
    {742, "52000002e6000040127075626c6963006f7468657200640001006b0000000014ffffffff"},
    {742, "54000002e6000000010000004012"},
    {742, "45"},
    {742, "63000002e6000000000001580de00000000001580e580003041bc2e967ed"},
    {746, "53000002ea01"},
    {746, "52000002ea000040127075626c6963006f7468657200640001006b0000000014ffffffff"},
    {746, "49000002ea000040124e0001740000000131"},
    {746, "45"},
    {747, "41000002ea000002eb"},
    {750, "53000002ee01"},
    {750, "45"},
    {750, "41000002ee000002ee"},
};

std::vector<PgOutputMessage> DecodeAll() {
  PgOutputDecoder decoder;
  std::vector<PgOutputMessage> messages;
  for (const Captured& c : kCaptured) {
    auto result = decoder.Decode(absl::HexStringToBytes(c.hex));
    EXPECT_TRUE(result.ok()) << c.hex << ": " << result.status();
    if (!result.ok()) return {};
    messages.push_back(*std::move(result));
  }
  EXPECT_FALSE(decoder.in_stream());
  return messages;
}

template <typename T>
const T& At(const std::vector<PgOutputMessage>& messages, size_t i) {
  static const T kEmpty{};
  EXPECT_LT(i, messages.size());
  if (i >= messages.size()) return kEmpty;
  EXPECT_TRUE(std::holds_alternative<T>(messages[i])) << "message " << i;
  if (!std::holds_alternative<T>(messages[i])) return kEmpty;
  return std::get<T>(messages[i]);
}

TEST(PgOutputRealCapture, DecodesEveryMessageToItsType) {
  const std::vector<PgOutputMessage> messages = DecodeAll();
  ASSERT_EQ(messages.size(), std::size(kCaptured));
  std::string types;
  for (const Captured& c : kCaptured) types += absl::HexStringToBytes(c.hex)[0];
  EXPECT_EQ(types, "BYRCBUCBUBRBUBDBDBRRTCBMCMSYRIESIESMRTEcSRIEASEA");
  // The variant alternative follows the type byte.
  const std::string order = "BCORYIUDTMSEcA";
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i].index(), order.find(types[i])) << "message " << i;
  }
}

TEST(PgOutputRealCapture, StreamedChangesCarryTheTransactionXid) {
  const std::vector<PgOutputMessage> messages = DecodeAll();
  ASSERT_EQ(messages.size(), std::size(kCaptured));
  int streamed = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    std::optional<Xid> xid = std::visit(
        [](const auto& m) -> std::optional<Xid> {
          if constexpr (requires { m.xid; }) {
            return std::optional<Xid>(m.xid);
          } else {
            return std::nullopt;
          }
        },
        messages[i]);
    if (!xid.has_value() || kCaptured[i].xid == 0) continue;
    if (std::holds_alternative<StreamAbortMessage>(messages[i])) continue;  // subxact row
    EXPECT_EQ(*xid, Xid(kCaptured[i].xid)) << "message " << i;
    ++streamed;
  }
  EXPECT_GT(streamed, 20);
}

TEST(PgOutputRealCapture, DecodesTransactionsOutsideStreams) {
  const std::vector<PgOutputMessage> m = DecodeAll();
  ASSERT_EQ(m.size(), std::size(kCaptured));

  const auto& begin = At<BeginMessage>(m, 0);
  EXPECT_EQ(begin.xid, Xid(732));
  EXPECT_EQ(begin.final_lsn, Lsn(0x1514980));
  EXPECT_GT(begin.commit_time_us, 1'700'000'000'000'000);  // after November 2023
  const auto& commit = At<CommitMessage>(m, 3);
  EXPECT_EQ(commit.commit_lsn, begin.final_lsn);
  EXPECT_EQ(commit.end_lsn, Lsn(0x15149B0));
  EXPECT_EQ(commit.commit_time_us, begin.commit_time_us);

  const auto& mood = At<TypeMessage>(m, 1);
  EXPECT_EQ(mood.xid, std::nullopt);
  EXPECT_EQ(mood.oid, 16390u);
  EXPECT_EQ(mood.schema, "public");
  EXPECT_EQ(mood.name, "mood");

  const auto& crm = At<RelationMessage>(m, 2);
  EXPECT_EQ(crm.xid, std::nullopt);
  EXPECT_EQ(crm.oid, RelationOid(16395));
  EXPECT_EQ(crm.table, "crm");
  EXPECT_EQ(crm.replica_identity, 'd');
  ASSERT_EQ(crm.columns.size(), 5u);
  EXPECT_TRUE(crm.columns[0].key);
  EXPECT_EQ(crm.columns[0].type_oid, 23u);
  EXPECT_EQ(crm.columns[2].name, "score");
  EXPECT_EQ(crm.columns[2].type_modifier, 655366);  // numeric(10,2)
  EXPECT_EQ(crm.columns[3].type_oid, mood.oid);
  EXPECT_FALSE(crm.columns[4].key);

  // UPDATE crm SET score = 13: no old tuple, the TOASTed column is unchanged.
  const auto& update = At<UpdateMessage>(m, 5);
  EXPECT_EQ(update.old_kind, std::nullopt);
  ASSERT_EQ(update.new_tuple.size(), 5u);
  EXPECT_EQ(update.new_tuple[2].data, "13.00");
  EXPECT_EQ(update.new_tuple[4].kind, TupleValue::Kind::kUnchangedToast);

  // UPDATE crm SET id = 2: the old key goes first, other key columns null.
  const auto& rekey = At<UpdateMessage>(m, 8);
  EXPECT_EQ(rekey.old_kind, std::optional<char>('K'));
  ASSERT_EQ(rekey.old_tuple.size(), 5u);
  EXPECT_EQ(rekey.old_tuple[0].data, "1");
  EXPECT_EQ(rekey.old_tuple[1].kind, TupleValue::Kind::kNull);
  EXPECT_EQ(rekey.new_tuple[0].data, "2");

  EXPECT_EQ(At<RelationMessage>(m, 10).replica_identity, 'f');
  const auto& full_update = At<UpdateMessage>(m, 12);
  EXPECT_EQ(full_update.old_kind, std::optional<char>('O'));
  EXPECT_EQ(full_update.old_tuple[1].data, "a");
  EXPECT_EQ(full_update.new_tuple[1].data, "b");

  EXPECT_EQ(At<DeleteMessage>(m, 14).old_kind, 'O');
  const auto& delete_key = At<DeleteMessage>(m, 16);
  EXPECT_EQ(delete_key.old_kind, 'K');
  EXPECT_EQ(delete_key.old_tuple[0].data, "2");

  const auto& truncate = At<TruncateMessage>(m, 20);
  EXPECT_TRUE(truncate.cascade);
  EXPECT_TRUE(truncate.restart_identity);
  EXPECT_THAT(truncate.relations, ElementsAre(RelationOid(16402), RelationOid(16405)));

  const auto& transactional = At<LogicalMessage>(m, 23);
  EXPECT_TRUE(transactional.transactional);
  EXPECT_EQ(transactional.prefix, "walship");
  EXPECT_EQ(transactional.content, "hello");
  const auto& plain = At<LogicalMessage>(m, 25);
  EXPECT_FALSE(plain.transactional);
  EXPECT_EQ(plain.xid, std::nullopt);
  EXPECT_EQ(plain.lsn, Lsn(0x1515B78));
  EXPECT_EQ(plain.content, "nontx");
}

TEST(PgOutputRealCapture, DecodesStreamedTransactions) {
  const std::vector<PgOutputMessage> m = DecodeAll();
  ASSERT_EQ(m.size(), std::size(kCaptured));

  EXPECT_TRUE(At<StreamStartMessage>(m, 26).first_segment);
  EXPECT_EQ(At<StreamStartMessage>(m, 26).xid, Xid(742));
  EXPECT_EQ(At<TypeMessage>(m, 27).xid, std::optional<Xid>(Xid(742)));
  EXPECT_EQ(At<RelationMessage>(m, 28).columns.size(), 5u);
  const auto& insert = At<InsertMessage>(m, 29);
  EXPECT_EQ(insert.xid, std::optional<Xid>(Xid(742)));
  EXPECT_EQ(insert.new_tuple[0].data, "10");
  EXPECT_EQ(insert.new_tuple[4].kind, TupleValue::Kind::kNull);
  EXPECT_FALSE(At<StreamStartMessage>(m, 31).first_segment);

  const auto& message = At<LogicalMessage>(m, 35);
  EXPECT_EQ(message.xid, std::optional<Xid>(Xid(742)));
  EXPECT_TRUE(message.transactional);
  EXPECT_EQ(message.content, "in-stream");
  const auto& truncate = At<TruncateMessage>(m, 37);
  EXPECT_FALSE(truncate.cascade);
  EXPECT_THAT(truncate.relations, ElementsAre(RelationOid(16402)));

  const auto& commit = At<StreamCommitMessage>(m, 39);
  EXPECT_EQ(commit.xid, Xid(742));
  EXPECT_EQ(commit.commit_lsn, Lsn(0x1580DE0));
  EXPECT_EQ(commit.end_lsn, Lsn(0x1580E58));

  // ROLLBACK TO SAVEPOINT of a streamed subtransaction, then a whole streamed rollback.
  const auto& sub_abort = At<StreamAbortMessage>(m, 44);
  EXPECT_EQ(sub_abort.xid, Xid(746));
  EXPECT_EQ(sub_abort.subxid, Xid(747));
  const auto& abort = At<StreamAbortMessage>(m, 47);
  EXPECT_EQ(abort.xid, Xid(750));
  EXPECT_EQ(abort.subxid, Xid(750));
}

TEST(PgOutputRealCapture, EveryTruncationIsDataLoss) {
  PgOutputDecoder decoder;
  for (const Captured& c : kCaptured) {
    const std::string bytes = absl::HexStringToBytes(c.hex);
    const bool was_in_stream = decoder.in_stream();
    for (size_t length = 0; length < bytes.size(); ++length) {
      EXPECT_THAT(decoder.Decode(absl::string_view(bytes).substr(0, length)),
                  StatusIs(absl::StatusCode::kDataLoss))
          << c.hex << " cut to " << length;
      EXPECT_EQ(decoder.in_stream(), was_in_stream);
    }
    ASSERT_TRUE(decoder.Decode(bytes).ok()) << c.hex;
  }
}

}  // namespace
}  // namespace walship::agent
