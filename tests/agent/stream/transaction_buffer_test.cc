// TransactionBuffer: a transaction's records in memory up to a limit, then in a spill file.
#include "agent/stream/transaction_buffer.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/stream/stream_test_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::walship::agent::testing::Shape;
using ::walship::testing::TempDir;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

constexpr Xid kXid(700);
constexpr RelationOid kAccounts(16384);

v1::Record RelationDef() {
  v1::Record record;
  v1::Relation* relation = record.mutable_relation_def();
  relation->set_oid(kAccounts.value());
  relation->set_schema("public");
  relation->set_table("accounts");
  return record;
}

// An INSERT event as the assembler builds it: not yet stamped.
v1::Record InsertEvent(TransactionBuffer& buffer, const std::string& payload) {
  v1::Record record;
  v1::Event* event = record.mutable_event();
  event->set_op(v1::INSERT);
  event->mutable_relation()->set_oid(kAccounts.value());
  // The first value is the arrival number; the sequence is given at commit.
  event->mutable_new_row()->add_values()->set_text(std::to_string(buffer.event_count() + 1));
  event->mutable_new_row()->add_values()->set_text(payload);
  return record;
}

proto::TransactionInfo Info() {
  proto::TransactionInfo info;
  info.xid = kXid;
  info.commit_lsn = Lsn(0xA000);
  info.end_lsn = Lsn(0xA040);
  info.commit_time_us = 1700000000000001;
  return info;
}

void ExpectStamped(const std::vector<v1::Record>& records) {
  for (const v1::Record& record : records) {
    if (!record.has_event()) continue;
    EXPECT_EQ(record.event().xid(), kXid.value());
    EXPECT_EQ(record.event().commit_lsn(), 0xA000u);
    EXPECT_EQ(record.event().end_lsn(), 0xA040u);
    EXPECT_EQ(record.event().commit_time_us(), 1700000000000001);
  }
}

TEST(TransactionBuffer, SmallTransactionStaysInMemory) {
  TempDir dir;
  auto buffer = std::make_unique<TransactionBuffer>(kXid, dir.path(), 8 << 20);
  ASSERT_OK(buffer->Append(kXid, RelationDef()));
  for (int i = 0; i < 3; ++i) ASSERT_OK(buffer->Append(kXid, InsertEvent(*buffer, "v")));
  EXPECT_FALSE(buffer->spilled());
  EXPECT_EQ(buffer->event_count(), 3u);
  EXPECT_THAT(dir.Files("spill-", ".tmp"), IsEmpty());

  ASSERT_OK_AND_ASSIGN(auto txn, TransactionBuffer::Finish(std::move(buffer), Info()));
  EXPECT_EQ(txn->info().event_count, 3u);
  EXPECT_EQ(txn->info().xid, kXid);
  std::vector<v1::Record> records = testing::Records(*txn);
  EXPECT_THAT(Shape(records), ElementsAreArray({"R16384", "I1", "I2", "I3"}));
  ExpectStamped(records);
}

TEST(TransactionBuffer, TinyLimitSpillsToAFileThatLivesWithTheTransaction) {
  TempDir dir;
  auto buffer = std::make_unique<TransactionBuffer>(kXid, dir.path(), 1024);
  ASSERT_OK(buffer->Append(kXid, RelationDef()));
  std::vector<std::string> expected_shape = {"R16384"};
  for (int i = 1; i <= 100; ++i) {
    ASSERT_OK(buffer->Append(kXid, InsertEvent(*buffer, std::string(100, 'a' + i % 26))));
    expected_shape.push_back(absl::StrCat("I", i));
  }
  EXPECT_TRUE(buffer->spilled());
  EXPECT_EQ(buffer->event_count(), 100u);
  std::vector<std::string> files = dir.Files("spill-", ".tmp");
  ASSERT_THAT(files, SizeIs(1));
  EXPECT_THAT(files[0], HasSubstr(absl::StrCat("spill-", kXid.value(), "-")));

  ASSERT_OK_AND_ASSIGN(auto txn, TransactionBuffer::Finish(std::move(buffer), Info()));
  EXPECT_EQ(txn->info().event_count, 100u);
  EXPECT_THAT(dir.Files("spill-", ".tmp"), SizeIs(1));

  std::vector<v1::Record> first = testing::Records(*txn);
  std::vector<v1::Record> second = testing::Records(*txn);
  EXPECT_THAT(Shape(first), ElementsAreArray(expected_shape));
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].SerializeAsString(), second[i].SerializeAsString()) << i;
  }
  ExpectStamped(first);
  EXPECT_EQ(first[5].event().new_row().values(1).text(), std::string(100, 'a' + 5 % 26));

  txn.reset();
  EXPECT_THAT(dir.Files("spill-", ".tmp"), IsEmpty());
}

TEST(TransactionBuffer, SpillFileRemovedWhenBufferDroppedUnfinished) {
  TempDir dir;
  auto buffer = std::make_unique<TransactionBuffer>(kXid, dir.path(), 1024);
  for (int i = 0; i < 50; ++i) ASSERT_OK(buffer->Append(kXid, InsertEvent(*buffer, "x")));
  ASSERT_TRUE(buffer->spilled());
  EXPECT_THAT(dir.Files("spill-", ".tmp"), SizeIs(1));
  buffer.reset();  // a Stream Abort of the whole transaction
  EXPECT_THAT(dir.Files("spill-", ".tmp"), IsEmpty());
}

// Subtransaction aborts, in memory and spilled: 30 events, every third one from subxid
// 801 (aborted), the others alternating between the top xid and subxid 802.
class SubtransactionAbortTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(SubtransactionAbortTest, AbortedSubtransactionEventsAreDropped) {
  TempDir dir;
  auto buffer = std::make_unique<TransactionBuffer>(kXid, dir.path(), GetParam());
  ASSERT_OK(buffer->Append(kXid, RelationDef()));
  // Surviving events are numbered 1..20 as if the aborted ones had never been sent, which
  // is how PostgreSQL sends the same transaction when it does not stream it.
  std::vector<std::string> expected_shape = {"R16384"};
  std::vector<std::string> expected_arrivals;
  for (int i = 1; i <= 30; ++i) {
    Xid subxid = i % 3 == 0 ? Xid(801) : (i % 2 == 0 ? kXid : Xid(802));
    ASSERT_OK(buffer->Append(subxid, InsertEvent(*buffer, std::string(60, 'z'))));
    if (subxid == Xid(801)) continue;
    expected_arrivals.push_back(absl::StrCat(i));
    expected_shape.push_back(absl::StrCat("I", expected_arrivals.size()));
  }
  buffer->AbortSubtransaction(Xid(801));
  buffer->AbortSubtransaction(Xid(999));  // never seen: harmless
  const bool spilled = buffer->spilled();
  EXPECT_EQ(spilled, GetParam() < 4096);

  ASSERT_OK_AND_ASSIGN(auto txn, TransactionBuffer::Finish(std::move(buffer), Info()));
  EXPECT_EQ(txn->info().event_count, 20u);
  std::vector<v1::Record> records = testing::Records(*txn);
  EXPECT_THAT(Shape(records), ElementsAreArray(expected_shape));
  std::vector<std::string> arrivals;
  for (const v1::Record& r : records) {
    if (r.has_event()) arrivals.push_back(r.event().new_row().values(0).text());
  }
  EXPECT_THAT(arrivals, ElementsAreArray(expected_arrivals));
  ExpectStamped(records);
  EXPECT_EQ(dir.Files("spill-", ".tmp").size(), spilled ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(InMemoryAndSpilled, SubtransactionAbortTest,
                         ::testing::Values(8ull << 20, 1024));

TEST(TransactionBuffer, ForEachRecordStopsAtFirstError) {
  TempDir dir;
  for (uint64_t limit : {uint64_t{8} << 20, uint64_t{256}}) {
    auto buffer = std::make_unique<TransactionBuffer>(kXid, dir.path(), limit);
    for (int i = 0; i < 10; ++i) ASSERT_OK(buffer->Append(kXid, InsertEvent(*buffer, "x")));
    ASSERT_OK_AND_ASSIGN(auto txn, TransactionBuffer::Finish(std::move(buffer), Info()));
    int calls = 0;
    absl::Status status = txn->ForEachRecord([&](const v1::Record&) {
      return ++calls == 4 ? absl::CancelledError("enough") : absl::OkStatus();
    });
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kCancelled)) << "limit " << limit;
    EXPECT_EQ(calls, 4) << "limit " << limit;
  }
}

TEST(TransactionBuffer, MissingSpillDirectoryIsAClearError) {
  const std::string missing = "/nonexistent-walship-dir/spill";
  TransactionBuffer buffer(kXid, missing, 256);
  absl::Status status;
  for (int i = 0; i < 20 && status.ok(); ++i)
    status = buffer.Append(kXid, InsertEvent(buffer, "x"));
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(missing));
  EXPECT_FALSE(buffer.spilled());
}

// Resident set size of this process in bytes (0 when unknown).
uint64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::string digits;
    for (char c : line) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    uint64_t kib = 0;
    return absl::SimpleAtoi(digits, &kib) ? kib * 1024 : 0;
  }
  return 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(WALSHIP_SANITIZE)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// The memory limit must bound what a transaction really occupies, not its serialized size:
// a parsed record of short values takes several times its wire size, so the allowance is
// the 8 MiB limit plus I/O buffers and slack, well below what an undercount would reach.
constexpr uint64_t kAllowedGrowth = 32ull << 20;

TEST(TransactionBuffer, HugeTransactionKeepsMemoryBounded) {
  if (kSanitized) GTEST_SKIP() << "resident memory is not meaningful under sanitizers";
  TempDir dir;
  const uint64_t baseline = ResidentBytes();
  ASSERT_GT(baseline, 0u);
  uint64_t peak = baseline;
  auto buffer = std::make_unique<TransactionBuffer>(kXid, dir.path(), 8ull << 20);
  ASSERT_OK(buffer->Append(kXid, RelationDef()));

  // Typical narrow CRM rows: eight short text values, about 130 bytes each serialized.
  constexpr uint64_t kTargetBytes = 200ull << 20;
  uint64_t appended_bytes = 0;
  uint64_t events = 0;
  while (appended_bytes < kTargetBytes) {
    v1::Record record;
    v1::Event* event = record.mutable_event();
    event->set_op(v1::INSERT);
    event->mutable_relation()->set_oid(kAccounts.value());
    v1::Row* row = event->mutable_new_row();
    row->add_values()->set_text(std::to_string(events));
    row->add_values()->set_text("Jane Doe");
    row->add_values()->set_text("jane.doe@example.com");
    row->add_values()->set_text("2024-05-01 12:34:56.789+00");
    row->add_values()->set_text("1234.50");
    row->add_values()->set_text("t");
    row->add_values()->set_null(true);
    row->add_values()->set_text("Customer since 2019, prefers e-mail");
    appended_bytes += record.ByteSizeLong();
    ASSERT_OK(buffer->Append(kXid, std::move(record)));
    ++events;
    if (events % 20000 == 0) peak = std::max(peak, ResidentBytes());
  }
  peak = std::max(peak, ResidentBytes());
  EXPECT_TRUE(buffer->spilled());
  EXPECT_LT(peak - baseline, kAllowedGrowth)
      << "appended " << appended_bytes << " bytes, resident grew " << (peak - baseline);

  ASSERT_OK_AND_ASSIGN(auto txn, TransactionBuffer::Finish(std::move(buffer), Info()));
  EXPECT_EQ(txn->info().event_count, events);
  uint64_t read = 0;
  ASSERT_OK(txn->ForEachRecord([&](const v1::Record& record) {
    if (record.has_event() && ++read % 20000 == 0) peak = std::max(peak, ResidentBytes());
    return absl::OkStatus();
  }));
  EXPECT_EQ(read, events);
  EXPECT_LT(peak - baseline, kAllowedGrowth)
      << "while reading back, resident grew " << (peak - baseline);
  txn.reset();
  EXPECT_THAT(dir.Files("spill-", ".tmp"), IsEmpty());
}

}  // namespace
}  // namespace walship::agent
