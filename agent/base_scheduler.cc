// Periodic base snapshots.
#include "agent/base_scheduler.h"

#include <unistd.h>

#include "absl/strings/str_join.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "agent/snapshot/base_progress.h"

namespace walship::agent {

absl::StatusOr<std::optional<absl::Time>> NewestBaseTime(sinks::ObjectStore& store,
                                                         const sinks::StreamId& stream) {
  WALSHIP_ASSIGN_OR_RETURN(snapshot::StoreContents contents,
                           snapshot::ListStoreContents(store, stream));
  std::optional<absl::Time> newest;
  for (const snapshot::StoredBase& base : contents.bases) {
    if (base.complete && (!newest || base.snapshot_time > *newest)) newest = base.snapshot_time;
  }
  return newest;
}

BaseScheduler::BaseScheduler(snapshot::SnapshotOptions options,
                             std::vector<sinks::ObjectStore*> stores, sinks::StreamId stream,
                             snapshot::BasePolicy policy, snapshot::RetentionPolicy retention,
                             BaseProbe& probe, Clock& clock)
    : options_(std::move(options)),
      stores_(std::move(stores)),
      stream_(std::move(stream)),
      policy_(policy),
      retention_(retention),
      probe_(probe),
      clock_(clock) {
  options_.cancel = &cancel_;
}

BaseScheduler::~BaseScheduler() { Stop(); }

absl::Status BaseScheduler::TakeNow() { return TakeWith(options_); }

absl::Status BaseScheduler::TakeWith(const snapshot::SnapshotOptions& options) {
  absl::Time started = clock_.Now();
  snapshot::ProgressCallback render = snapshot::MakeDefaultProgressRenderer(STDERR_FILENO);
  auto progress = [&](const snapshot::BaseProgress& p) {
    render(p);
    if (p.tables_total > 0) probe_.OnProgress(static_cast<double>(p.tables_done) / p.tables_total);
  };
  auto manifest = snapshot::TakeBaseSnapshot(options, stores_, progress);
  if (!manifest.ok()) {
    probe_.OnFailed(absl::StatusCodeToString(manifest.status().code()));
    return Annotate(manifest.status(), "taking a base snapshot");
  }
  uint64_t rows = 0;
  for (const auto& table : manifest->tables()) rows += table.row_count();
  LogInfo("base snapshot at %s complete: %d tables, %d rows, %s",
          Lsn(manifest->snapshot_lsn()).ToString(), manifest->tables_size(), rows,
          absl::FormatDuration(absl::Trunc(clock_.Now() - started, absl::Milliseconds(1))));
  probe_.OnSucceeded(rows, clock_.Now());
  last_ = started;
  if (retention_.enabled()) {
    for (sinks::ObjectStore* store : stores_) {
      auto plan = snapshot::RunRetention(*store, stream_, retention_, clock_.Now());
      if (!plan.ok()) {
        LogWarning("retention in %s: %s", store->url(), plan.status().message());
      } else if (!plan->delete_keys.empty()) {
        LogInfo("retention in %s: deleted %d objects (%d bases)", store->url(),
                plan->delete_keys.size(), plan->deleted_bases.size());
      }
    }
  }
  return absl::OkStatus();
}

void BaseScheduler::Start(std::optional<absl::Time> last) {
  last_ = last;
  thread_ = std::thread([this] { Loop(); });
}

void BaseScheduler::RequestForEnteredTables(std::vector<std::string> tables, Lsn noticed_at,
                                            int64_t commit_time_us) {
  absl::MutexLock lock(&mu_);
  if (!requested_) {
    entered_lsn_ = noticed_at;
    entered_time_us_ = commit_time_us;
  }
  requested_ = true;
  for (std::string& table : tables) entered_tables_.push_back(std::move(table));
}

void BaseScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  cancel_.store(true);
  if (thread_.joinable()) thread_.join();
}

void BaseScheduler::Loop() {
  absl::Duration backoff = absl::Minutes(1);
  auto woken = [this]() { return stopping_ || requested_; };
  while (true) {
    absl::Time due = policy_.enabled() ? snapshot::NextBaseTime(last_, policy_, clock_.Now())
                                       : absl::InfiniteFuture();
    snapshot::SnapshotOptions options = options_;
    {
      absl::MutexLock lock(&mu_);
      // The wait itself runs on the machine's clock: a deadline on `clock_` becomes a timeout.
      mu_.AwaitWithTimeout(absl::Condition(&woken), due - clock_.Now());
      if (stopping_) return;
      if (requested_) {
        options.entered_tables = std::exchange(entered_tables_, {});
        options.entered_lsn = entered_lsn_;
        options.entered_time_us = entered_time_us_;
        requested_ = false;
        LogInfo("taking a base now: %s entered the publication with rows no change event "
                "carries",
                absl::StrJoin(options.entered_tables, ", "));
      }
    }
    absl::Status status = TakeWith(options);
    if (!status.ok() && !options.entered_tables.empty()) {
      // Asked again, so the retry keeps its reason.
      RequestForEnteredTables(options.entered_tables, options.entered_lsn,
                              options.entered_time_us);
    }
    if (status.ok()) {
      backoff = absl::Minutes(1);
      continue;
    }
    if (status.code() == absl::StatusCode::kCancelled) return;
    LogError("%s; retrying in %s", status.message(), absl::FormatDuration(backoff));
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    if (stopping_) return;
    backoff = std::min(backoff * 2, absl::Hours(1));
  }
}

}  // namespace walship::agent
