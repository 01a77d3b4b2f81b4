// TransactionAssembler with streamed transactions (pgoutput protocol 2): interleaved
// streams, relation descriptions private to a stream until it commits, subtransaction
// aborts, resets, and spilling a large stream to disk.
#include "agent/stream/transaction_assembler.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
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
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;
using namespace ::walship::agent::testing;  // NOLINT: message builders

TEST_F(TransactionAssemblerTest, InterleavedStreamedTransactions) {
  constexpr uint32_t kA = 900, kB = 901;
  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kAccounts, "accounts", {"name"}, kA));
  Feed(Insert(kAccounts, {Text("1"), Text("a1")}, kA));
  Feed(StreamStopMessage{});
  Feed(StreamStartMessage{Xid(kB), true});
  Feed(Relation(kAccounts, "accounts", {"name"}, kB));
  Feed(Insert(kAccounts, {Text("2"), Text("b1")}, kB));
  Feed(StreamStopMessage{});
  Feed(StreamStartMessage{Xid(kA), false});
  Feed(Insert(kAccounts, {Text("3"), Text("a2")}, kA));
  Feed(StreamStopMessage{});
  EXPECT_EQ(assembler_.open_streamed_transactions(), 2u);
  // Streamed transactions never count as "in a transaction" for keepalives.
  EXPECT_FALSE(assembler_.InTransaction());

  auto b = Complete(StreamCommit(kB, Lsn(0x3000), Lsn(0x3040), kTime + 2));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->info().xid, Xid(kB));
  EXPECT_EQ(b->info().event_count, 1u);
  std::vector<v1::Record> b_records = Records(*b);
  EXPECT_THAT(Shape(b_records), ElementsAre("R16384", "I1"));
  ASSERT_EQ(b_records.size(), 2u);
  EXPECT_EQ(b_records[1].event().new_row().values(1).text(), "b1");
  EXPECT_EQ(b_records[1].event().xid(), kB);
  EXPECT_EQ(b_records[1].event().commit_lsn(), 0x3000u);
  EXPECT_EQ(b_records[1].event().end_lsn(), 0x3040u);
  EXPECT_EQ(b_records[1].event().commit_time_us(), kTime + 2);

  auto a = Complete(StreamCommit(kA, Lsn(0x4000), Lsn(0x4040), kTime + 3));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->info().xid, Xid(kA));
  EXPECT_EQ(a->info().event_count, 2u);
  std::vector<v1::Record> a_records = Records(*a);
  EXPECT_THAT(Shape(a_records), ElementsAre("R16384", "I1", "I2"));
  ASSERT_EQ(a_records.size(), 3u);
  EXPECT_EQ(a_records[1].event().new_row().values(1).text(), "a1");
  EXPECT_EQ(a_records[2].event().new_row().values(1).text(), "a2");
  for (size_t i = 1; i < a_records.size(); ++i) {
    EXPECT_EQ(a_records[i].event().xid(), kA);
    EXPECT_EQ(a_records[i].event().commit_lsn(), 0x4000u);
    EXPECT_EQ(a_records[i].event().end_lsn(), 0x4040u);
    EXPECT_EQ(a_records[i].event().commit_time_us(), kTime + 3);
  }
  EXPECT_EQ(assembler_.open_streamed_transactions(), 0u);
}

TEST_F(TransactionAssemblerTest, StreamedRelationIsPrivateUntilStreamCommit) {
  constexpr uint32_t kA = 900;
  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kOrders, "orders", {"item"}, kA));
  Feed(Insert(kOrders, {Text("1"), Text("x")}, kA));
  Feed(StreamStopMessage{});

  // A plain transaction in between does not see the streamed transaction's description.
  Feed(Begin(700, Lsn(0x1000), kTime));
  EXPECT_THAT(assembler_.Feed(Insert(kOrders, {Text("2"), Text("y")})),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(TransactionAssemblerTest, StreamedRelationVersionIsSharedAfterStreamCommit) {
  constexpr uint32_t kA = 900;
  Feed(Relation(kAccounts, "accounts", {"name"}));  // the shared view: 2 columns

  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kAccounts, "accounts", {"name", "email"}, kA));  // A's view: 3 columns
  Feed(Relation(kOrders, "orders", {"item"}, kA));
  Feed(Insert(kAccounts, {Text("1"), Text("a"), Text("a@x")}, kA));
  Feed(Insert(kOrders, {Text("1"), Text("pen")}, kA));
  Feed(StreamStopMessage{});

  // While A is open a plain transaction still uses the shared (old) description.
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(Insert(kAccounts, {Text("2"), Text("b")}));
  auto plain = Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime));
  ASSERT_NE(plain, nullptr);
  std::vector<v1::Record> plain_records = Records(*plain);
  ASSERT_EQ(plain_records.size(), 2u);
  EXPECT_EQ(plain_records[0].relation_def().columns_size(), 2);

  auto a = Complete(StreamCommit(kA, Lsn(0x2000), Lsn(0x2040), kTime + 1));
  ASSERT_NE(a, nullptr);
  std::vector<v1::Record> a_records = Records(*a);
  EXPECT_THAT(Shape(a_records), ElementsAre("R16384", "I1", "R16390", "I2"));
  ASSERT_EQ(a_records.size(), 4u);
  EXPECT_EQ(a_records[0].relation_def().columns_size(), 3);

  // pgoutput now counts both descriptions as sent: a plain transaction uses them without
  // a new Relation message.
  Feed(Begin(701, Lsn(0x3000), kTime + 2));
  Feed(Insert(kOrders, {Text("2"), Text("ink")}));
  Feed(Insert(kAccounts, {Text("3"), Text("c"), Text("c@x")}));
  auto after = Complete(Commit(Lsn(0x3000), Lsn(0x3040), kTime + 2));
  ASSERT_NE(after, nullptr);
  std::vector<v1::Record> after_records = Records(*after);
  EXPECT_THAT(Shape(after_records), ElementsAre("R16390", "I1", "R16384", "I2"));
  ASSERT_EQ(after_records.size(), 4u);
  EXPECT_EQ(after_records[2].relation_def().columns_size(), 3);
  EXPECT_EQ(after_records[2].relation_def().columns(2).name(), "email");
}

// A stream described R, then DDL (committed while the stream was open, possible once the
// subtransaction that touched R aborted and released its lock) invalidated pgoutput's
// cache, and a plain transaction was sent the new schema. The stream's commit must not
// bring the old description back: pgoutput does not resend R to later transactions.
TEST_F(TransactionAssemblerTest, OlderStreamedDescriptionDoesNotReplaceNewerShared) {
  constexpr uint32_t kA = 900;
  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kAccounts, "accounts", {"name"}, kA));  // v1: 2 columns
  Feed(Insert(kAccounts, {Text("1"), Text("a")}, 950));
  Feed(StreamStopMessage{});
  Feed(StreamAbortMessage{Xid(kA), Xid(950)});

  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(Relation(kAccounts, "accounts", {"name", "email"}));  // v2: 3 columns
  Feed(Insert(kAccounts, {Text("2"), Text("b"), Text("b@x")}));
  ASSERT_NE(Complete(Commit(Lsn(0x1000), Lsn(0x1040), kTime)), nullptr);

  auto a = Complete(StreamCommit(kA, Lsn(0x2000), Lsn(0x2040), kTime + 1));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->info().event_count, 0u);

  Feed(Begin(701, Lsn(0x3000), kTime + 2));
  Feed(Insert(kAccounts, {Text("3"), Text("c"), Text("c@x")}));
  auto after = Complete(Commit(Lsn(0x3000), Lsn(0x3040), kTime + 2));
  ASSERT_NE(after, nullptr);
  std::vector<v1::Record> records = Records(*after);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].relation_def().columns_size(), 3);
}

// Two streams described R before and after a schema change; whichever commits last, the
// shared view ends as the newer description.
TEST_F(TransactionAssemblerTest, NewestStreamedDescriptionWinsWhateverTheCommitOrder) {
  for (bool newer_commits_first : {false, true}) {
    SCOPED_TRACE(newer_commits_first ? "newer commits first" : "older commits first");
    assembler_.Reset();
    constexpr uint32_t kOld = 900, kNew = 901;
    Feed(StreamStartMessage{Xid(kOld), true});
    Feed(Relation(kAccounts, "accounts", {"name"}, kOld));
    Feed(Insert(kAccounts, {Text("1"), Text("a")}, kOld));
    Feed(StreamStopMessage{});
    Feed(StreamStartMessage{Xid(kNew), true});
    Feed(Relation(kAccounts, "accounts", {"name", "email"}, kNew));
    Feed(Insert(kAccounts, {Text("2"), Text("b"), Text("b@x")}, kNew));
    Feed(StreamStopMessage{});
    uint32_t first = newer_commits_first ? kNew : kOld;
    uint32_t second = newer_commits_first ? kOld : kNew;
    ASSERT_NE(Complete(StreamCommit(first, Lsn(0x2000), Lsn(0x2040), kTime)), nullptr);
    ASSERT_NE(Complete(StreamCommit(second, Lsn(0x3000), Lsn(0x3040), kTime)), nullptr);

    Feed(Begin(700, Lsn(0x4000), kTime));
    Feed(Insert(kAccounts, {Text("3"), Text("c"), Text("c@x")}));
    auto after = Complete(Commit(Lsn(0x4000), Lsn(0x4040), kTime));
    ASSERT_NE(after, nullptr);
    std::vector<v1::Record> records = Records(*after);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].relation_def().columns_size(), 3);
  }
}

TEST_F(TransactionAssemblerTest, StreamAbortOfSubtransactionDropsExactlyItsEvents) {
  constexpr uint32_t kA = 900, kSub1 = 950, kSub2 = 951;
  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kAccounts, "accounts", {"name"}, kA));
  // The relation is first used by the subtransaction that will abort: its description
  // must survive the abort.
  Feed(Insert(kAccounts, {Text("1"), Text("sub1")}, kSub1));
  Feed(Insert(kAccounts, {Text("2"), Text("top")}, kA));
  Feed(StreamStopMessage{});
  Feed(StreamStartMessage{Xid(kA), false});
  Feed(Insert(kAccounts, {Text("3"), Text("sub2")}, kSub2));
  Feed(Insert(kAccounts, {Text("4"), Text("sub1 again")}, kSub1));
  Feed(StreamStopMessage{});
  Feed(StreamAbortMessage{Xid(kA), Xid(kSub1)});
  EXPECT_EQ(assembler_.open_streamed_transactions(), 1u);

  auto txn = Complete(StreamCommit(kA, Lsn(0x2000), Lsn(0x2040), kTime));
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->info().event_count, 2u);
  std::vector<v1::Record> records = Records(*txn);
  // Numbered among the survivors, with no gaps: PostgreSQL sends the same transaction
  // unstreamed (after a restart, say) without the aborted changes, and a re-sent event
  // must keep its position.
  EXPECT_THAT(Shape(records), ElementsAre("R16384", "I1", "I2"));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].event().new_row().values(1).text(), "top");
  EXPECT_EQ(records[2].event().new_row().values(1).text(), "sub2");
  // Every event carries the top-level xid.
  EXPECT_EQ(records[2].event().xid(), kA);
}

TEST_F(TransactionAssemblerTest, StreamAbortOfWholeTransactionDropsIt) {
  constexpr uint32_t kA = 900;
  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kAccounts, "accounts", {"name"}, kA));
  Feed(Insert(kAccounts, {Text("1"), Text("a")}, kA));
  Feed(StreamStopMessage{});
  Feed(StreamAbortMessage{Xid(kA), Xid(kA)});
  EXPECT_EQ(assembler_.open_streamed_transactions(), 0u);
  EXPECT_THAT(assembler_.Feed(StreamCommit(kA, Lsn(0x2000), Lsn(0x2040), kTime)),
              StatusIs(absl::StatusCode::kDataLoss));
  // The aborted transaction's description never became shared.
  Feed(Begin(700, Lsn(0x3000), kTime));
  EXPECT_THAT(assembler_.Feed(Insert(kAccounts, {Text("2"), Text("b")})),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(TransactionAssemblerTest, StreamAbortOfUnknownTransactionIsIgnored) {
  Feed(StreamAbortMessage{Xid(123), Xid(124)});
  Feed(StreamAbortMessage{Xid(123), Xid(123)});
  EXPECT_EQ(assembler_.open_streamed_transactions(), 0u);
}

TEST_F(TransactionAssemblerTest, StreamCommitOfUnknownTransactionIsDataLoss) {
  EXPECT_THAT(assembler_.Feed(StreamCommit(42, Lsn(0x2000), Lsn(0x2040), kTime)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("42")));
}

TEST_F(TransactionAssemblerTest, StreamCommitOrAbortInsideOpenBlockIsDataLoss) {
  constexpr uint32_t kA = 900;
  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kAccounts, "accounts", {"name"}, kA));
  Feed(Insert(kAccounts, {Text("1"), Text("a")}, kA));
  EXPECT_THAT(assembler_.Feed(StreamCommit(kA, Lsn(0x2000), Lsn(0x2040), kTime)),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(assembler_.Feed(StreamAbortMessage{Xid(kA), Xid(kA)}), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(assembler_.Feed(StreamStartMessage{Xid(kA), false}),
              StatusIs(absl::StatusCode::kDataLoss));
  // The block is still intact: it can be closed and committed.
  Feed(Insert(kAccounts, {Text("2"), Text("b")}, kA));
  Feed(StreamStopMessage{});
  auto txn = Complete(StreamCommit(kA, Lsn(0x2000), Lsn(0x2040), kTime));
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->info().event_count, 2u);
}

TEST_F(TransactionAssemblerTest, ResetForgetsEverything) {
  Feed(Relation(kAccounts, "accounts"));
  Feed(StreamStartMessage{Xid(900), true});
  Feed(Relation(kOrders, "orders", {"item"}, 900));
  Feed(Insert(kOrders, {Text("1"), Text("x")}, 900));
  Feed(StreamStopMessage{});
  Feed(Begin(700, Lsn(0x1000), kTime));
  Feed(Insert(kAccounts, {Text("1"), Text("a")}));
  EXPECT_TRUE(assembler_.InTransaction());
  EXPECT_EQ(assembler_.open_streamed_transactions(), 1u);

  assembler_.Reset();
  EXPECT_FALSE(assembler_.InTransaction());
  EXPECT_EQ(assembler_.open_streamed_transactions(), 0u);
  EXPECT_THAT(assembler_.Feed(StreamCommit(900, Lsn(0x2000), Lsn(0x2040), kTime)),
              StatusIs(absl::StatusCode::kDataLoss));
  // A Begin is accepted again, and the cached relation is gone.
  Feed(Begin(701, Lsn(0x3000), kTime));
  EXPECT_THAT(assembler_.Feed(Insert(kAccounts, {Text("2"), Text("b")})),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(TransactionAssemblerTest, ResetInsideStreamBlockClosesIt) {
  Feed(StreamStartMessage{Xid(900), true});
  assembler_.Reset();
  // Not inside a block any more: a second Stream Start is fine, Stream Stop closes it.
  Feed(StreamStartMessage{Xid(901), true});
  Feed(StreamStopMessage{});
  EXPECT_EQ(assembler_.open_streamed_transactions(), 1u);
}

class SpillingAssemblerTest : public TransactionAssemblerTest {
 protected:
  SpillingAssemblerTest() : TransactionAssemblerTest(/*memory_limit=*/1024) {}
};

TEST_F(SpillingAssemblerTest, LargeStreamedTransactionSpillsAndIsStamped) {
  constexpr uint32_t kA = 900, kSub = 950;
  Feed(StreamStartMessage{Xid(kA), true});
  Feed(Relation(kAccounts, "accounts", {"name"}, kA));
  for (int i = 1; i <= 200; ++i) {
    Feed(Insert(kAccounts, {Text(std::to_string(i)), Text(std::string(100, 'x'))},
                i % 10 == 0 ? kSub : kA));
  }
  Feed(StreamStopMessage{});
  EXPECT_EQ(dir_.Files("spill-", ".tmp").size(), 1u);
  Feed(StreamAbortMessage{Xid(kA), Xid(kSub)});
  auto txn = Complete(StreamCommit(kA, Lsn(0x9000), Lsn(0x9040), kTime));
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->info().event_count, 180u);
  std::vector<v1::Record> records = Records(*txn);
  ASSERT_EQ(records.size(), 181u);
  EXPECT_TRUE(records[0].has_relation_def());
  for (size_t i = 1; i < records.size(); ++i) {
    const v1::Event& event = records[i].event();
    EXPECT_EQ(event.xid(), kA);
    EXPECT_EQ(event.commit_lsn(), 0x9000u);
    EXPECT_EQ(event.end_lsn(), 0x9040u);
    EXPECT_EQ(event.commit_time_us(), kTime);
    // Numbered among the survivors: the positions PostgreSQL's unstreamed form gets.
    EXPECT_EQ(event.sequence(), i);
    const int arrival = std::stoi(event.new_row().values(0).text());
    EXPECT_NE(arrival % 10, 0);
    EXPECT_EQ(arrival, static_cast<int>(i + (i - 1) / 9));
  }
  txn.reset();
  EXPECT_THAT(dir_.Files("spill-", ".tmp"), IsEmpty());
}

TEST(TransactionAssembler, MissingSpillDirectoryIsAnErrorNotACrash) {
  TransactionAssembler assembler(AssemblerOptions{"/nonexistent/walship-spill", 1024});
  ASSERT_THAT(assembler.Feed(Relation(kAccounts, "accounts")), IsOk());
  ASSERT_THAT(assembler.Feed(Begin(700, Lsn(0x1000), kTime)), IsOk());
  absl::Status first_error;
  for (int i = 0; i < 100 && first_error.ok(); ++i) {
    first_error =
        assembler.Feed(Insert(kAccounts, {Text("1"), Text(std::string(100, 'x'))})).status();
  }
  EXPECT_FALSE(first_error.ok());
  EXPECT_THAT(std::string(first_error.message()), HasSubstr("/nonexistent/walship-spill"));
}

}  // namespace
}  // namespace walship::agent
