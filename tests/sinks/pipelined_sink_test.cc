// PipelinedSink over a recording inner sink: every inner call on one worker thread, in
// order; Write returns before the inner sink writes; Flush waits for both; the first error
// comes back; a blocked inner sink makes the queue back-pressure (Write waits, Backlogged()).
#include "sinks/pipelined_sink.h"

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using ::testing::ElementsAre;

// Durable at once, except when held: then writes wait until Release().
class RecordingSink : public Sink {
 public:
  struct Log {
    absl::Mutex mu;
    std::vector<uint32_t> written ABSL_GUARDED_BY(mu);
    std::set<std::thread::id> threads ABSL_GUARDED_BY(mu);
    int flushes ABSL_GUARDED_BY(mu) = 0;
    bool closed ABSL_GUARDED_BY(mu) = false;
    bool held ABSL_GUARDED_BY(mu) = false;
    uint32_t fail_xid ABSL_GUARDED_BY(mu) = 0;
  };
  explicit RecordingSink(Log& log) : log_(log) {}

  std::string name() const override { return "recording"; }
  absl::Status Write(const proto::Transaction& txn) override {
    absl::MutexLock lock(&log_.mu);
    log_.threads.insert(std::this_thread::get_id());
    log_.mu.Await(absl::Condition(
        +[](bool* held) { return !*held; }, &log_.held));
    if (txn.info().xid.value() == log_.fail_xid) return absl::UnavailableError("inner failed");
    log_.written.push_back(txn.info().xid.value());
    watermark_ = txn.info().end_lsn;
    return absl::OkStatus();
  }
  absl::Status Poll(absl::Time) override {
    absl::MutexLock lock(&log_.mu);
    log_.threads.insert(std::this_thread::get_id());
    return absl::OkStatus();
  }
  absl::Time NextDeadline() const override { return absl::InfiniteFuture(); }
  absl::Status Flush(absl::Time) override {
    absl::MutexLock lock(&log_.mu);
    log_.threads.insert(std::this_thread::get_id());
    ++log_.flushes;
    return absl::OkStatus();
  }
  Lsn DurableWatermark() const override { return watermark_; }
  bool HasPending() const override { return false; }
  absl::Status Close(absl::Time) override {
    absl::MutexLock lock(&log_.mu);
    log_.closed = true;
    return absl::OkStatus();
  }

 private:
  Log& log_;
  Lsn watermark_;
};

std::shared_ptr<const proto::Transaction> Txn(uint32_t xid, uint64_t memory_bytes = 100) {
  proto::TransactionInfo info;
  info.xid = Xid(xid);
  info.commit_lsn = Lsn(xid * 100);
  info.end_lsn = Lsn(xid * 100 + 8);
  info.event_count = 1;
  info.memory_bytes = memory_bytes;
  return std::make_shared<proto::InMemoryTransaction>(info, std::vector<v1::Record>{});
}

absl::Time Soon() { return absl::Now() + absl::Seconds(10); }

TEST(PipelinedSinkTest, WritesInOrderOnOneWorkerThreadAndFlushWaitsForThem) {
  RecordingSink::Log log;
  auto sink = MakePipelined(std::make_unique<RecordingSink>(log));
  EXPECT_EQ(sink->name(), "recording");
  for (uint32_t xid = 1; xid <= 100; ++xid) ASSERT_OK(sink->WriteShared(Txn(xid)));
  ASSERT_OK(sink->Flush(Soon()));
  EXPECT_EQ(sink->DurableWatermark(), Lsn(100 * 100 + 8));
  EXPECT_FALSE(sink->HasPending());
  ASSERT_OK(sink->Close(Soon()));
  absl::MutexLock lock(&log.mu);
  ASSERT_EQ(log.written.size(), 100u);
  for (uint32_t i = 0; i < 100; ++i) EXPECT_EQ(log.written[i], i + 1);
  EXPECT_EQ(log.threads.size(), 1u);
  EXPECT_EQ(log.threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(log.flushes, 2);  // Flush, then Close's
  EXPECT_TRUE(log.closed);
}

TEST(PipelinedSinkTest, WriteReturnsBeforeTheInnerSinkWritesAndBackPressureHolds) {
  RecordingSink::Log log;
  {
    absl::MutexLock lock(&log.mu);
    log.held = true;
  }
  PipelineOptions options;
  options.max_queued = 4;
  options.max_queued_bytes = 1000;
  options.max_write_wait = absl::Milliseconds(20);
  auto sink = MakePipelined(std::make_unique<RecordingSink>(log), options);
  ASSERT_OK(sink->WriteShared(Txn(1, 400)));  // taken by the worker, which waits
  for (uint32_t xid = 2; xid <= 5; ++xid) ASSERT_OK(sink->WriteShared(Txn(xid, 400)));
  EXPECT_TRUE(sink->HasPending());
  EXPECT_NE(sink->NextDeadline(), absl::InfiniteFuture());
  EXPECT_TRUE(sink->Backlogged());  // 4 x 400 bytes queued > 1000
  absl::Time before = absl::Now();
  ASSERT_OK(sink->WriteShared(Txn(6, 1)));  // the queue is full: waits, then queues anyway
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(15));
  EXPECT_EQ(sink->DurableWatermark(), Lsn());
  {
    absl::MutexLock lock(&log.mu);
    EXPECT_TRUE(log.written.empty());
    log.held = false;
  }
  ASSERT_OK(sink->Flush(Soon()));
  EXPECT_FALSE(sink->Backlogged());
  EXPECT_EQ(sink->DurableWatermark(), Lsn(608));
  absl::MutexLock lock(&log.mu);
  EXPECT_THAT(log.written, ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(PipelinedSinkTest, TheFirstInnerErrorComesBackAndNothingAfterItIsWritten) {
  RecordingSink::Log log;
  {
    absl::MutexLock lock(&log.mu);
    log.fail_xid = 3;
  }
  auto sink = MakePipelined(std::make_unique<RecordingSink>(log));
  for (uint32_t xid = 1; xid <= 5; ++xid) (void)sink->WriteShared(Txn(xid));
  absl::Status flushed = sink->Flush(Soon());
  EXPECT_EQ(flushed.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sink->Poll(absl::Now()).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sink->WriteShared(Txn(6)).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sink->DurableWatermark(), Lsn(208));
  EXPECT_FALSE(sink->Backlogged());
  absl::MutexLock lock(&log.mu);
  EXPECT_THAT(log.written, ElementsAre(1, 2));
}

TEST(PipelinedSinkTest, ABorrowedTransactionIsWrittenBeforeWriteReturns) {
  RecordingSink::Log log;
  auto sink = MakePipelined(std::make_unique<RecordingSink>(log));
  {
    proto::TransactionInfo info;
    info.xid = Xid(7);
    info.end_lsn = Lsn(708);
    proto::InMemoryTransaction txn(info, {});
    ASSERT_OK(sink->Write(txn));
    absl::MutexLock lock(&log.mu);
    EXPECT_THAT(log.written, ElementsAre(7));
  }
  EXPECT_EQ(sink->DurableWatermark(), Lsn(708));
}

}  // namespace
}  // namespace walship::sinks
