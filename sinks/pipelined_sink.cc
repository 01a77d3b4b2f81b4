// PipelinedSink: a queue of shared transactions and one worker thread that makes every call
// of the inner sink. Lock order: mu_ only; the inner sink is called without it held.
#include "sinks/pipelined_sink.h"

#include <algorithm>
#include <deque>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace walship::sinks {
namespace {

class PipelinedSink : public Sink {
 public:
  PipelinedSink(std::unique_ptr<Sink> inner, PipelineOptions options)
      : inner_(std::move(inner)), name_(inner_->name()), options_(options) {
    watermark_ = inner_->DurableWatermark();
    worker_ = std::thread([this] { Work(); });
  }
  ~PipelinedSink() override { Stop(); }

  std::string name() const override { return name_; }

  absl::Status Write(const proto::Transaction& txn) override {
    // Borrowed: written before this returns, so no reference is kept.
    std::shared_ptr<const proto::Transaction> borrowed(&txn, [](const proto::Transaction*) {});
    absl::MutexLock lock(&mu_);
    if (!error_.ok()) return error_;
    Queue(std::move(borrowed));
    // Idle, not merely failed: the worker must be done with the borrowed transaction.
    mu_.Await(absl::Condition(this, &PipelinedSink::Idle));
    return error_;
  }

  absl::Status WriteShared(std::shared_ptr<const proto::Transaction> txn) override {
    absl::MutexLock lock(&mu_);
    if (!error_.ok()) return error_;
    mu_.AwaitWithTimeout(absl::Condition(this, &PipelinedSink::HasRoomOrFailed),
                         options_.max_write_wait);
    Queue(std::move(txn));
    return error_;
  }

  absl::Status Poll(absl::Time) override {
    absl::MutexLock lock(&mu_);
    return error_;
  }

  absl::Time NextDeadline() const override {
    return HasPending() ? absl::Now() + options_.poll_interval : absl::InfiniteFuture();
  }

  absl::Status Flush(absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithDeadline(absl::Condition(this, &PipelinedSink::IdleOrFailed), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat(name_, ": ", queue_.size(),
                       " transactions not yet handed to the sink by the flush "
                       "deadline"));
    }
    if (!error_.ok()) return error_;
    flush_requested_ = true;
    flush_done_ = false;
    flush_deadline_ = deadline;
    mu_.Await(absl::Condition(&flush_done_));
    return error_.ok() ? flush_result_ : error_;
  }

  Lsn DurableWatermark() const override {
    absl::MutexLock lock(&mu_);
    return watermark_;
  }
  bool HasPending() const override {
    absl::MutexLock lock(&mu_);
    return !queue_.empty() || writing_ || inner_pending_;
  }
  bool Backlogged() const override {
    absl::MutexLock lock(&mu_);
    return error_.ok() && (inner_backlogged_ || queued_bytes_ > options_.max_queued_bytes);
  }

  absl::Status Close(absl::Time deadline) override {
    absl::Status flushed = Flush(deadline);
    Stop();
    absl::Status closed = inner_->Close(deadline);  // the worker is gone: this thread's now
    return flushed.ok() ? closed : flushed;
  }

 private:
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && !writing_; }
  bool IdleOrFailed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (queue_.empty() && !writing_) || !error_.ok();
  }
  bool HasRoomOrFailed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() < options_.max_queued || !error_.ok();
  }
  bool WorkToDo() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || (flush_requested_ && !flush_done_) || stop_;
  }

  void Queue(std::shared_ptr<const proto::Transaction> txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_bytes_ += txn->info().memory_bytes;
    queue_.push_back(std::move(txn));
  }

  void Work() {
    absl::Time next_poll = absl::InfinitePast();
    for (;;) {
      std::shared_ptr<const proto::Transaction> txn;
      bool flush = false;
      absl::Time flush_deadline;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithDeadline(absl::Condition(this, &PipelinedSink::WorkToDo),
                              std::min(next_poll, absl::Now() + options_.poll_interval));
        if (stop_) return;  // Close flushed first; a destroyed sink drops what is queued
        if (!queue_.empty()) {
          txn = std::move(queue_.front());
          queue_.pop_front();
          queued_bytes_ -= std::min(queued_bytes_, txn->info().memory_bytes);
          writing_ = error_.ok();
          if (!writing_) continue;  // failed: what is queued is dropped
        } else if (flush_requested_ && !flush_done_) {
          flush = true;
          flush_deadline = flush_deadline_;
        }
      }
      absl::Status status;
      if (txn != nullptr) {
        status = inner_->Write(*txn);
        txn.reset();
      } else if (flush) {
        status = inner_->Flush(flush_deadline);
      } else {
        status = inner_->Poll(absl::Now());
      }
      next_poll = inner_->NextDeadline();
      const Lsn watermark = inner_->DurableWatermark();
      const bool pending = inner_->HasPending();
      const bool backlogged = inner_->Backlogged();
      absl::MutexLock lock(&mu_);
      if (!status.ok() && error_.ok()) error_ = status;
      watermark_ = watermark;
      inner_pending_ = pending;
      inner_backlogged_ = backlogged;
      writing_ = false;
      if (flush) {
        flush_result_ = status;
        flush_done_ = true;
        flush_requested_ = false;
      }
    }
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = stop_ = true;
    }
    worker_.join();
  }

  std::unique_ptr<Sink> inner_;
  const std::string name_;
  const PipelineOptions options_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<const proto::Transaction>> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // the worker holds a transaction
  bool flush_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time flush_deadline_ ABSL_GUARDED_BY(mu_);
  absl::Status flush_result_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  Lsn watermark_ ABSL_GUARDED_BY(mu_);
  bool inner_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool inner_backlogged_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace

std::unique_ptr<Sink> MakePipelined(std::unique_ptr<Sink> inner, PipelineOptions options) {
  return std::make_unique<PipelinedSink>(std::move(inner), options);
}

}  // namespace walship::sinks
