// The object-store sink: transactions → staging segment files → background upload of the
// segment and then its index object → durable watermark.
//
// Threads: every Sink method runs on the agent's loop thread, which owns the open segment
// (builder_) and the LSN chain. One uploader thread stores finished segments in order.
// They share, under mu_, the upload queue, the watermark and the first error. Shutdown
// order: Close() flushes, then stops and joins the uploader; the destructor stops and
// joins it without flushing (unstored segments are simply not acknowledged).
#include "sinks/object_store/object_store_sink.h"

#include <algorithm>
#include <deque>
#include <random>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "proto/core/failpoint.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "proto/segment_format.h"
#include "proto/segment_reader.h"
#include "sinks/object_store/file_util.h"
#include "sinks/object_store/segment_builder.h"
#include "sinks/object_store/stream_history.h"

namespace walship::sinks {
namespace {

// Staging files carry this prefix so that cleaning at start touches nothing else.
constexpr absl::string_view kStagingPrefix = "walship-segment-";

// The raw size at which a segment's object is sealed as a part mid-transaction: twice the
// segment size (so an ordinary transaction that overshoots the size stays whole), at least
// 64 KiB, and well under the format's 4 GiB.
uint64_t PartLimit(uint64_t segment_max_bytes) {
  constexpr uint64_t kMinPartRawBytes = uint64_t{64} << 10;
  constexpr uint64_t kMaxPartRawBytes = uint64_t{3} << 30;
  return std::clamp(std::min(segment_max_bytes, kMaxPartRawBytes) * 2, kMinPartRawBytes,
                    kMaxPartRawBytes);
}

absl::Status ValidateOptions(const ObjectStoreSinkOptions& options) {
  if (options.stream.system_id.empty() || options.stream.slot.empty()) {
    return absl::InvalidArgumentError("object-store sink: stream system id and slot must be set");
  }
  WALSHIP_RETURN_IF_ERROR(Annotate(ValidateObjectKey(options.stream.Prefix() + "wal"),
                                   "object-store sink: stream prefix"));
  if (options.staging_dir.empty()) {
    return absl::InvalidArgumentError("object-store sink: a staging directory is required");
  }
  if (options.segment_max_bytes == 0 || options.segment_max_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "object-store sink: segment size and age limits must be positive");
  }
  if (options.zstd_level < 0 || options.zstd_level > 22) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "object-store sink: zstd level %d is out of range (0 to 22)", options.zstd_level));
  }
  if (options.max_pending_segments < 1) {
    return absl::InvalidArgumentError(
        "object-store sink: max pending segments must be at least 1");
  }
  return absl::OkStatus();
}

// Where writing resumes: the end of the stored chain, up to the first missing segment the
// slot can resend (the stored runs after it are skipped while refilling). Missing segments
// the slot cannot resend, and a slot that starts past the chain's end, are recorded gaps.
struct StartPoint {
  Lsn resume;        // transactions ending at or before it are stored
  bool base_needed = false;  // a gap ends after the newest base
  Lsn previous_end;  // the next segment's previous_end_lsn
  std::deque<StoredRun> skip;
  std::vector<v1::GapRecord> gaps;
};

absl::StatusOr<StartPoint> FindStartPoint(ObjectStore* store,
                                          const ObjectStoreSinkOptions& options) {
  const Lsn confirmed = options.slot_confirmed;
  Lsn from = options.newest_base.valid() ? std::min(options.newest_base, confirmed) : confirmed;
  if (!confirmed.valid()) from = Lsn();
  WALSHIP_ASSIGN_OR_RETURN(StoredChain chain,
                           ReadStoredChain(*store, options.stream, from, options.index_identity));
  StartPoint start;
  // Gaps recorded before (by an earlier start) are known, not new.
  WALSHIP_ASSIGN_OR_RETURN(std::vector<v1::GapRecord> recorded,
                           LoadGapRecords(*store, options.stream));
  auto already_recorded = [&](Lsn gap_from, Lsn gap_to) {
    for (const v1::GapRecord& gap : recorded) {
      if (Lsn(gap.from_lsn()) <= gap_from && gap_to <= Lsn(gap.to_lsn())) return true;
    }
    return false;
  };
  auto record_gap = [&](Lsn gap_from, Lsn gap_to, std::string reason) {
    if (already_recorded(gap_from, gap_to)) return;
    v1::GapRecord gap;
    gap.set_from_lsn(gap_from.value());
    gap.set_to_lsn(gap_to.value());
    gap.set_recorded_time_us(absl::ToUnixMicros(options.clock->Now()));
    gap.set_reason(std::move(reason));
    gap.set_incarnation(options.index_identity.incarnation());
    LogError("%s: the stream has a gap from %s to %s (%s): restores inside or after it need a "
             "newer base",
             store->url(), gap_from.ToString(), gap_to.ToString(), gap.reason());
    start.gaps.push_back(std::move(gap));
  };
  for (size_t i = 0; i < chain.runs.size(); ++i) {
    const StoredRun& run = chain.runs[i];
    if (i == 0) {
      start.resume = run.end;
      continue;
    }
    if (start.resume >= confirmed || !start.skip.empty()) {
      // The slot resends everything after `resume`: the missing segments are written again.
      LogWarning("%s: segments from %s to %s are missing; writing them again from the slot",
                 store->url(), (start.skip.empty() ? start.resume : start.skip.back().end).ToString(),
                 run.start.ToString());
      start.skip.push_back(run);
      continue;
    }
    record_gap(start.resume, run.start,
               "segments missing from the store before the slot's confirmed position");
    start.resume = run.end;
  }
  start.previous_end = start.resume;
  // A gap already recorded at the chain's end (nothing stored since): the next segment links
  // past it, and the store knows the stream up to its end.
  if (start.skip.empty()) {
    for (const v1::GapRecord& gap : recorded) {
      if (Lsn(gap.from_lsn()) <= start.resume && Lsn(gap.to_lsn()) > start.resume) {
        start.resume = start.previous_end = Lsn(gap.to_lsn());
      }
    }
  }
  // The slot starts past everything the store knows about: the chain's end, a heartbeat's
  // vouched position, or (no segments yet) the newest base.
  const bool chain_empty = chain.runs.empty() && !start.resume.valid();
  Lsn known = std::max(start.resume, options.vouched);
  if (chain_empty) known = std::max(known, options.newest_base);
  if (start.skip.empty() && confirmed.valid() && confirmed > known &&
      (!chain_empty || options.newest_base.valid())) {
    record_gap(chain_empty ? options.newest_base : start.resume, confirmed,
               options.new_slot_reason.empty()
                   ? "the slot's confirmed position is past the store's end"
                   : options.new_slot_reason);
    start.resume = confirmed;
    start.previous_end = confirmed;
  }
  for (const auto* gaps : {&recorded, &start.gaps}) {
    for (const v1::GapRecord& gap : *gaps) {
      if (Lsn(gap.to_lsn()) > options.newest_base) start.base_needed = true;
    }
  }
  return start;
}

class ObjectStoreSink : public Sink {
 public:
  ObjectStoreSink(ObjectStore* store, ObjectStoreSinkOptions options, StartPoint start)
      : store_(store),
        options_(std::move(options)),
        accepted_end_(start.resume),
        previous_end_(start.previous_end),
        skip_(std::move(start.skip)),
        watermark_(start.resume) {
    uploader_ = std::thread([this] { UploadLoop(); });
  }

  ~ObjectStoreSink() override { StopUploader(/*abandon=*/true); }

  std::string name() const override { return store_->url(); }

  absl::Status Write(const proto::Transaction& txn) override {
    WALSHIP_RETURN_IF_ERROR(Error());
    const proto::TransactionInfo& info = txn.info();
    // Already stored (before a restart) or already taken (resent after a reconnect).
    if (info.end_lsn <= accepted_end_) return absl::OkStatus();
    // Refilling: a transaction that reaches stored segments closes the refilled segment
    // there; the stored run counts as written once everything before it is.
    while (!skip_.empty() && info.end_lsn > skip_.front().start) {
      StoredRun run = skip_.front();
      skip_.pop_front();
      if (builder_ != nullptr) WALSHIP_RETURN_IF_ERROR(CutSegment());
      if (previous_end_ != run.start) {
        LogWarning("%s: the segments written again end at %s, but the stored ones after them "
                   "begin after %s",
                   store_->url(), previous_end_.ToString(), run.start.ToString());
      }
      FinishedSegment stored;
      stored.already_stored = true;
      stored.last_end = run.end;
      {
        absl::MutexLock lock(&mu_);
        queue_.push_back(std::move(stored));
      }
      previous_end_ = run.end;
      accepted_end_ = run.end;
      if (info.end_lsn <= run.end) return absl::OkStatus();
    }
    absl::Time now = options_.clock->Now();
    if (builder_ == nullptr) {
      std::string path = absl::StrFormat("%s/%s%s-%d", options_.staging_dir, kStagingPrefix,
                                         info.commit_lsn.ToKey(), next_staging_++);
      auto builder = SegmentBuilder::Create(std::move(path), SegmentHeader(now),
                                            options_.zstd_level, now);
      if (!builder.ok()) return Fail(builder.status());
      builder_ = *std::move(builder);
      // A transaction that would carry the segment far past its size is split across
      // objects (parts), well before the format's 4 GiB.
      uint64_t token = std::uniform_int_distribution<uint64_t>()(rng_);
      builder_->SetPartLimit(
          PartLimit(options_.segment_max_bytes),
          [stream = options_.stream, token](Lsn first_commit, int number) {
            return SegmentPartKey(stream, first_commit, token, number);
          },
          [this](FinishedPart part) -> absl::Status {
            // Stored while the rest of the transaction is written (parts never wait for the
            // segment's cut, so the staging directory holds only what is not yet stored).
            FinishedSegment entry;
            entry.part = std::move(part);
            absl::MutexLock lock(&mu_);
            if (!error_.ok()) return error_;
            queue_.push_back(std::move(entry));
            return absl::OkStatus();
          });
      builder_opened_ = options_.clock->Now();
    }
    absl::Status added = builder_->AddTransaction(txn);
    if (!added.ok()) {
      return Fail(Annotate(added, absl::StrFormat("adding transaction %u (commit %s) to a segment",
                                                  info.xid.value(), info.commit_lsn.ToString())));
    }
    accepted_end_ = info.end_lsn;
    return MaybeCut(now);
  }

  absl::Status Poll(absl::Time now) override {
    WALSHIP_RETURN_IF_ERROR(Error());
    return MaybeCut(now);
  }

  absl::Time NextDeadline() const override {
    if (builder_ == nullptr) return absl::InfiniteFuture();
    return builder_->opened_at() + options_.segment_max_age;
  }

  absl::Status Flush(absl::Time deadline) override {
    WALSHIP_RETURN_IF_ERROR(Error());
    if (builder_ != nullptr) WALSHIP_RETURN_IF_ERROR(CutSegment());
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(absl::Condition(this, &ObjectStoreSink::DrainedOrFailed), deadline);
    if (!error_.ok()) return error_;
    if (!queue_.empty()) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "flushing %s: %d segments still being stored at the deadline", store_->url(),
          queue_.size()));
    }
    return absl::OkStatus();
  }

  Lsn DurableWatermark() const override {
    absl::MutexLock lock(&mu_);
    return watermark_;
  }

  bool HasPending() const override {
    if (builder_ != nullptr) return true;
    absl::MutexLock lock(&mu_);
    return !queue_.empty();
  }

  // Staged segments wait on local disk, not in memory; the bound keeps a stalled store from
  // collecting an unbounded backlog there while the slot could keep the WAL instead.
  bool Backlogged() const override {
    absl::MutexLock lock(&mu_);
    return error_.ok() && queue_.size() >= static_cast<size_t>(options_.max_pending_segments);
  }

  absl::Status Close(absl::Time deadline) override {
    absl::Status status = Flush(deadline);
    StopUploader(/*abandon=*/!status.ok());
    builder_.reset();
    return status;
  }

 private:
  v1::SegmentHeader SegmentHeader(absl::Time now) const {
    v1::SegmentHeader header = options_.header_template;
    header.set_format_version(proto::kSegmentFormatVersion);
    header.set_codec(options_.zstd_level == 0 ? v1::CODEC_NONE : v1::CODEC_ZSTD);
    header.set_kind(v1::CHANGE_SEGMENT);
    header.set_created_time_us(absl::ToUnixMicros(now));
    return header;
  }

  absl::Status MaybeCut(absl::Time now) {
    if (builder_ == nullptr) return absl::OkStatus();
    if (builder_->raw_bytes() >= options_.segment_max_bytes ||
        now - builder_->opened_at() >= options_.segment_max_age) {
      return CutSegment();
    }
    return absl::OkStatus();
  }

  // Finishes the open segment and queues it for upload. Never waits for the uploader: with
  // max_pending_segments queued the sink is Backlogged() and the loop hands it nothing more
  // (so at most one segment over the bound, cut by age, joins the queue), while it keeps
  // answering the server.
  absl::Status CutSegment() {
    std::unique_ptr<SegmentBuilder> builder = std::move(builder_);
    absl::StatusOr<FinishedSegment> segment = builder->Finish(previous_end_);
    if (!segment.ok()) return Fail(Annotate(segment.status(), "finishing a segment"));
    previous_end_ = segment->last_end;
    absl::Duration open_for = options_.clock->Now() - builder_opened_;
    absl::MutexLock lock(&mu_);
    segment_open_for_[segment->last_end.value()] = open_for;
    if (!error_.ok()) return error_;
    queue_.push_back(*std::move(segment));
    return absl::OkStatus();
  }

  // The uploader thread: stores queued segments in order until stopped or failed.
  void UploadLoop() {
    while (true) {
      FinishedSegment segment;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &ObjectStoreSink::WorkOrStop));
        if (abandon_ || !error_.ok() || queue_.empty()) return;
        segment = queue_.front();
      }
      if (segment.part.has_value()) {
        absl::Status stored = UploadPart(*segment.part);
        absl::MutexLock lock(&mu_);
        if (!stored.ok()) {
          LogError("%s: %s", store_->url(), stored.message());
          error_.Update(stored);
          return;
        }
        queue_.pop_front();  // a part moves no watermark
        continue;
      }
      if (segment.already_stored) {
        absl::MutexLock lock(&mu_);
        watermark_ = segment.last_end;
        queue_.pop_front();
        continue;
      }
      absl::Time store_started = options_.clock->Now();
      absl::Status status = Upload(segment);
      if (status.ok() && options_.on_segment_stored) {
        ObjectStoreSinkOptions::SegmentStats stats;
        stats.store_took = options_.clock->Now() - store_started;
        stats.bytes = segment.bytes;
        stats.events = segment.trailer.event_count();
        stats.transactions = segment.trailer.transaction_count();
        {
          absl::MutexLock lock(&mu_);
          auto it = segment_open_for_.find(segment.last_end.value());
          if (it != segment_open_for_.end()) {
            stats.open_for = it->second;
            segment_open_for_.erase(it);
          }
        }
        options_.on_segment_stored(stats);
      }
      absl::MutexLock lock(&mu_);
      if (!status.ok()) {
        LogError("%s: %s", store_->url(), status.message());
        error_.Update(status);
        return;  // the watermark stops here for good
      }
      CrashPoint("index-stored");
      watermark_ = segment.last_end;
      queue_.pop_front();
    }
  }

  // Parts are queued (so stored) before the segment that names them: a crash in between
  // leaves parts no segment names, under a name the next try does not use.
  absl::Status UploadPart(const FinishedPart& part) {
    std::string context = absl::StrFormat("storing part \"%s\"", part.key);
    WALSHIP_RETURN_IF_ERROR(Annotate(sinks::FsyncPath(part.path), context));
    WALSHIP_RETURN_IF_ERROR(
        Annotate(sinks::VerifyStagedSegment(part.path, part.bytes, part.footer), context));
    WALSHIP_RETURN_IF_ERROR(Annotate(store_->PutFile(part.key, part.path), context));
    CrashPoint("part-stored");
    return absl::OkStatus();
  }

  absl::Status Upload(const FinishedSegment& segment) {
    std::string key = WalSegmentKey(options_.stream, segment.first_commit, segment.last_end);
    std::string context = absl::StrFormat("storing segment \"%s\"", key);
    CrashPoint("segment-written");
    WALSHIP_RETURN_IF_ERROR(Annotate(sinks::FsyncPath(segment.path), context));
    WALSHIP_RETURN_IF_ERROR(Annotate(
        sinks::VerifyStagedSegment(segment.path, segment.bytes, segment.footer), context));
    CrashPoint("segment-verified");
    WALSHIP_RETURN_IF_ERROR(Annotate(store_->PutFile(key, segment.path), context));
    CrashPoint("segment-stored");
    v1::SegmentIndex index = options_.index_identity;
    index.set_segment_key(key);
    index.set_segment_bytes(segment.bytes);
    *index.mutable_trailer() = segment.trailer;  // with the parts, when split
    std::string index_key = SegmentIndexKey(options_.stream, segment.last_end);
    return Annotate(store_->Put(index_key, EncodeSegmentIndex(std::move(index))),
                    absl::StrFormat("storing index \"%s\"", index_key));
  }

  void StopUploader(bool abandon) {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (abandon) abandon_ = true;
    }
    if (uploader_.joinable()) uploader_.join();
  }

  absl::Status Error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

  absl::Status Fail(absl::Status status) {
    builder_.reset();
    absl::MutexLock lock(&mu_);
    error_.Update(status);
    return error_;
  }

  bool DrainedOrFailed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.empty() || !error_.ok();
  }
  bool WorkOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_ || abandon_;
  }

  ObjectStore* const store_;
  const ObjectStoreSinkOptions options_;

  // Loop thread only.
  std::unique_ptr<SegmentBuilder> builder_;  // the open segment, null when none
  Lsn accepted_end_;                         // end LSN of the last transaction taken
  Lsn previous_end_;                         // end LSN of the last segment finished
  std::deque<StoredRun> skip_;               // stored runs ahead of a refill
  uint64_t next_staging_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};

  mutable absl::Mutex mu_;
  std::deque<FinishedSegment> queue_ ABSL_GUARDED_BY(mu_);  // front is being stored
  absl::Time builder_opened_;  // loop thread only
  // How long each queued segment (by its last end LSN) was open.
  absl::flat_hash_map<uint64_t, absl::Duration> segment_open_for_ ABSL_GUARDED_BY(mu_);
  Lsn watermark_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // finish the queue, then exit
  bool abandon_ ABSL_GUARDED_BY(mu_) = false;   // exit after the current upload

  std::thread uploader_;  // started last in the constructor, joined before members go
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> OpenObjectStoreSink(ObjectStore* store,
                                                          ObjectStoreSinkOptions options) {
  WALSHIP_RETURN_IF_ERROR(ValidateOptions(options));
  WALSHIP_RETURN_IF_ERROR(Annotate(sinks::MakePrivateDir(options.staging_dir),
                                   "object-store sink: staging directory"));
  WALSHIP_RETURN_IF_ERROR(sinks::RemoveFilesIn(options.staging_dir, kStagingPrefix));
  absl::StatusOr<StartPoint> start = FindStartPoint(store, options);
  WALSHIP_RETURN_IF_ERROR(Annotate(start.status(),
                                   absl::StrFormat("opening the object-store sink on %s",
                                                   store->url())));
  for (const v1::GapRecord& gap : start->gaps) {
    WALSHIP_RETURN_IF_ERROR(Annotate(PutGapRecord(*store, options.stream, gap),
                                     absl::StrFormat("recording a gap in %s", store->url())));
  }
  if (options.report != nullptr) {
    options.report->gaps = start->gaps;
    options.report->base_needed = start->base_needed;
    options.report->refills = start->skip.size();
    options.report->stored_end = start->skip.empty() ? start->resume : start->skip.back().end;
  }
  return std::unique_ptr<Sink>(
      std::make_unique<ObjectStoreSink>(store, std::move(options), *std::move(start)));
}

}  // namespace walship::sinks
