// TransactionAssembler: decoded pgoutput messages in, whole committed transactions out.
// Streamed transactions, resets and spilling: transaction_assembler_stream_test.cc.
#include "agent/stream/transaction_assembler.h"

#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/stream/stream_test_util.h"
#include "tests/agent/stream/transaction_assembler_fixture.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::walship::testing::StatusIs;
using namespace ::walship::agent::testing;  // NOLINT: message builders

TEST_F(TransactionAssemblerTest, PlainTransactionGivesRelationDefThenStampedEvents) {
  Feed(Begin(700, Lsn(0x1000), kTime));
  EXPECT_TRUE(assembler_.InTransaction());
  Feed(Relation(kAccounts, "accounts"));
  Feed(Insert(kAccounts, {Text("1"), Text("alice")}));
  UpdateMessage update{std::nullopt,
                       RelationOid(kAccounts),
                       'K',
                       {Text("1"), TupleValue{}},
                       {Text("2"), TupleValue{TupleValue::Kind::kUnchangedToast, ""}}};
  Feed(update);
  Feed(DeleteMessage{std::nullopt, RelationOid(kAccounts), 'K', {Text("2"), TupleValue{}}});
  Feed(TruncateMessage{std::nullopt, true, false, {RelationOid(kAccounts)}});
  Feed(LogicalMessage{std::nullopt, true, Lsn(0xff0), "mark:", "before-delete"});
  auto txn = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(txn, nullptr);
  EXPECT_FALSE(assembler_.InTransaction());

  EXPECT_EQ(txn->info().xid, Xid(700));
  EXPECT_EQ(txn->info().commit_lsn, Lsn(0x1000));
  EXPECT_EQ(txn->info().end_lsn, Lsn(0x1040));
  EXPECT_EQ(txn->info().commit_time_us, kTime);
  EXPECT_EQ(txn->info().event_count, 5u);

  std::vector<v1::Record> records = Records(*txn);
  EXPECT_THAT(Shape(records), ElementsAre("R16384", "I1", "U2", "D3", "T4", "M5"));
  ASSERT_EQ(records.size(), 6u);

  const v1::Relation& def = records[0].relation_def();
  EXPECT_EQ(def.schema(), "public");
  EXPECT_EQ(def.table(), "accounts");
  EXPECT_EQ(def.replica_identity(), v1::REPLICA_IDENTITY_DEFAULT);
  ASSERT_EQ(def.columns_size(), 2);
  EXPECT_EQ(def.columns(0).name(), "id");
  EXPECT_EQ(def.columns(0).type_name(), "int4");
  EXPECT_TRUE(def.columns(0).key());
  EXPECT_EQ(def.columns(1).type_name(), "text");
  EXPECT_FALSE(def.columns(1).key());

  for (size_t i = 1; i < records.size(); ++i) {
    const v1::Event& event = records[i].event();
    EXPECT_EQ(event.xid(), 700u) << i;
    EXPECT_EQ(event.commit_lsn(), 0x1000u) << i;
    EXPECT_EQ(event.end_lsn(), 0x1040u) << i;
    EXPECT_EQ(event.commit_time_us(), kTime) << i;
    EXPECT_EQ(event.sequence(), i) << i;
  }
  const v1::Event& insert = records[1].event();
  EXPECT_EQ(insert.relation().oid(), kAccounts);
  ASSERT_EQ(insert.new_row().values_size(), 2);
  EXPECT_EQ(insert.new_row().values(1).text(), "alice");

  const v1::Event& upd = records[2].event();
  EXPECT_TRUE(upd.old_is_key_only());
  EXPECT_EQ(upd.old_row().values(0).text(), "1");
  EXPECT_TRUE(upd.old_row().values(1).null());
  EXPECT_TRUE(upd.new_row().values(1).unchanged_toast());

  const v1::Event& del = records[3].event();
  EXPECT_EQ(del.op(), v1::DELETE);
  EXPECT_TRUE(del.old_is_key_only());
  EXPECT_EQ(del.old_row().values(0).text(), "2");

  const v1::Event& truncate = records[4].event();
  EXPECT_TRUE(truncate.truncate().cascade());
  EXPECT_FALSE(truncate.truncate().restart_identity());
  ASSERT_EQ(truncate.truncate().relations_size(), 1);
  EXPECT_EQ(truncate.truncate().relations(0).oid(), kAccounts);

  const v1::Event& message = records[5].event();
  EXPECT_EQ(message.message().prefix(), "mark:");
  EXPECT_EQ(message.message().content(), "before-delete");
  EXPECT_EQ(message.message().lsn(), 0xff0u);
}

TEST_F(TransactionAssemblerTest, UpdateWithoutOldRowHasNoOldRow) {
  Feed(Relation(kAccounts, "accounts"));
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(UpdateMessage{std::nullopt, RelationOid(kAccounts), std::nullopt, {}, {Text("1"), Text("bob")}});
  auto txn = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(txn, nullptr);
  std::vector<v1::Record> records = Records(*txn);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(records[1].event().has_old_row());
  EXPECT_EQ(records[1].event().new_row().values(1).text(), "bob");
}

TEST_F(TransactionAssemblerTest, UserTypesAreNamedFromTypeMessages) {
  Feed(TypeMessage{std::nullopt, 70000, "crm", "mood"});
  RelationMessage relation = Relation(kAccounts, "accounts");
  relation.columns.push_back(RelationColumn{false, "feeling", 70000, -1});
  relation.columns.push_back(RelationColumn{false, "other", 70001, -1});
  Feed(relation);
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(Insert(kAccounts, {Text("1"), Text("a"), Text("happy"), Text("x")}));
  auto txn = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(txn, nullptr);
  std::vector<v1::Record> records = Records(*txn);
  ASSERT_FALSE(records.empty());
  const v1::Relation& def = records[0].relation_def();
  ASSERT_EQ(def.columns_size(), 4);
  EXPECT_EQ(def.columns(2).type_name(), "crm.mood");
  EXPECT_EQ(def.columns(3).type_name(), "oid:70001");
}

TEST_F(TransactionAssemblerTest, RelationChangedMidTransactionIsDescribedAgain) {
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(Relation(kAccounts, "accounts"));
  Feed(Insert(kAccounts, {Text("1"), Text("a")}));
  Feed(Insert(kAccounts, {Text("2"), Text("b")}));
  Feed(Relation(kAccounts, "accounts", {"name", "email"}));
  Feed(Insert(kAccounts, {Text("3"), Text("c"), Text("c@example.com")}));
  auto txn = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(txn, nullptr);
  std::vector<v1::Record> records = Records(*txn);
  EXPECT_THAT(Shape(records), ElementsAre("R16384", "I1", "I2", "R16384", "I3"));
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].relation_def().columns_size(), 2);
  EXPECT_EQ(records[3].relation_def().columns_size(), 3);
  EXPECT_EQ(records[3].relation_def().columns(2).name(), "email");
}

TEST_F(TransactionAssemblerTest, EveryTransactionDescribesTheRelationsItUses) {
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(Relation(kAccounts, "accounts"));
  Feed(Relation(kOrders, "orders"));
  Feed(Insert(kAccounts, {Text("1"), Text("a")}));
  ASSERT_NE(Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime)), nullptr);

  // No Relation message this time: the cached description is repeated in the transaction,
  // and only for the relations it uses, before their first event.
  Feed(Begin(701, Lsn(0x2000), kTime + 1));
  Feed(Insert(kOrders, {Text("9"), Text("o")}));
  Feed(Insert(kAccounts, {Text("2"), Text("b")}));
  Feed(Insert(kOrders, {Text("10"), Text("p")}));
  auto txn = Complete(Commit(Lsn(0x2000), Lsn(0x2040), kTime + 1));
  ASSERT_NE(txn, nullptr);
  EXPECT_THAT(Shape(Records(*txn)), ElementsAre("R16390", "I1", "R16384", "I2", "I3"));
}

TEST_F(TransactionAssemblerTest, NonTransactionalMessageGivesNothing) {
  Feed(LogicalMessage{std::nullopt, false, Lsn(0x500), "heartbeat", "x"});
  EXPECT_FALSE(assembler_.InTransaction());

  Feed(Relation(kAccounts, "accounts"));
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(LogicalMessage{std::nullopt, false, Lsn(0x900), "heartbeat", "y"});
  Feed(Insert(kAccounts, {Text("1"), Text("a")}));
  auto txn = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->info().event_count, 1u);
  EXPECT_THAT(Shape(Records(*txn)), ElementsAre("R16384", "I1"));
}

TEST_F(TransactionAssemblerTest, OriginMessageIsIgnored) {
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(OriginMessage{Lsn(0x1000), "upstream"});
  auto txn = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->info().event_count, 0u);
}

TEST_F(TransactionAssemblerTest, EmptyTransactionHasNoEvents) {
  Feed(Begin(700, Lsn(0x1000), kTime));
  auto txn = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->info().event_count, 0u);
  EXPECT_EQ(txn->info().end_lsn, Lsn(0x1040));
  EXPECT_THAT(Records(*txn), IsEmpty());
}

TEST_F(TransactionAssemblerTest, ChangeForUnknownRelationIsDataLoss) {
  Feed(Begin(700, Lsn(0x1000), kTime));
  EXPECT_THAT(assembler_.Feed(Insert(kAccounts, {Text("1")})),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("16384")));
}

TEST_F(TransactionAssemblerTest, TruncateOfUnknownRelationIsDataLoss) {
  Feed(Relation(kAccounts, "accounts"));
  Feed(Begin(700, Lsn(0x1000), kTime));
  EXPECT_THAT(assembler_.Feed(TruncateMessage{std::nullopt, false, false, {RelationOid(kAccounts), RelationOid(kOrders)}}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("16390")));
}

TEST_F(TransactionAssemblerTest, CommitLsnMismatchIsDataLoss) {
  Feed(Begin(700, Lsn(0x1000), kTime));
  EXPECT_THAT(assembler_.Feed(Commit(Lsn(0x1008), Lsn(0x1040), kTime)),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(TransactionAssemblerTest, ProtocolViolationsAreDataLoss) {
  Feed(Relation(kAccounts, "accounts"));
  EXPECT_THAT(assembler_.Feed(Insert(kAccounts, {Text("1"), Text("a")})),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("outside a transaction")));
  EXPECT_THAT(assembler_.Feed(Commit(Lsn(0x1000), Lsn(0x1040), kTime)),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(assembler_.Feed(StreamStopMessage{}), StatusIs(absl::StatusCode::kDataLoss));
  Feed(Begin(700, Lsn(0x1000), kTime));
  EXPECT_THAT(assembler_.Feed(Begin(701, Lsn(0x2000), kTime)),
              StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace walship::agent
