// Takes base snapshots by policy on a thread of its own while the stream continues, and
// applies retention after each success.
#ifndef WALSHIP_AGENT_BASE_SCHEDULER_H_
#define WALSHIP_AGENT_BASE_SCHEDULER_H_

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/strings/string_view.h"
#include "proto/core/clock.h"
#include "agent/snapshot/base_policy.h"
#include "agent/snapshot/base_snapshotter.h"
#include "agent/snapshot/retention.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::agent {

// What the scheduler reports about the bases it takes (for the agent's metrics). Called
// from the thread that takes the base.
class BaseProbe {
 public:
  virtual ~BaseProbe() = default;
  // Share of the tables copied so far, in [0, 1].
  virtual void OnProgress(double ratio) = 0;
  // A base failed; `kind` is the status code's name.
  virtual void OnFailed(absl::string_view kind) = 0;
  // A base of `rows` rows was stored at `finished`.
  virtual void OnSucceeded(uint64_t rows, absl::Time finished) = 0;
};

class NoOpBaseProbe final : public BaseProbe {
 public:
  void OnProgress(double) override {}
  void OnFailed(absl::string_view) override {}
  void OnSucceeded(uint64_t, absl::Time) override {}
};

class BaseScheduler {
 public:
  // Stores, `probe` and `clock` must outlive the scheduler.
  BaseScheduler(snapshot::SnapshotOptions options, std::vector<sinks::ObjectStore*> stores,
                sinks::StreamId stream, snapshot::BasePolicy policy,
                snapshot::RetentionPolicy retention, BaseProbe& probe,
                Clock& clock = SystemClock());
  ~BaseScheduler();

  // Takes one base now, on the calling thread (the first start), then applies retention.
  absl::Status TakeNow();
  // Starts the thread that takes bases by policy and on request; `last` is when the newest
  // stored base was taken.
  void Start(std::optional<absl::Time> last);
  // Asks for a base as soon as possible (after one in progress), recording why: tables that
  // entered the publication with rows no change event carries. Requests made before the
  // base starts are merged. Thread-safe.
  void RequestForEnteredTables(std::vector<std::string> tables, Lsn noticed_at,
                               int64_t commit_time_us);
  // Cancels a base in progress and joins the thread.
  void Stop();

 private:
  void Loop();
  absl::Status TakeWith(const snapshot::SnapshotOptions& options);

  snapshot::SnapshotOptions options_;
  std::vector<sinks::ObjectStore*> stores_;
  sinks::StreamId stream_;
  snapshot::BasePolicy policy_;
  snapshot::RetentionPolicy retention_;
  BaseProbe& probe_;
  Clock& clock_;
  std::atomic<bool> cancel_{false};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> entered_tables_ ABSL_GUARDED_BY(mu_);
  Lsn entered_lsn_ ABSL_GUARDED_BY(mu_);
  int64_t entered_time_us_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Time> last_;
  std::thread thread_;
};

// When the newest complete base in `store` was taken (nullopt: none).
absl::StatusOr<std::optional<absl::Time>> NewestBaseTime(sinks::ObjectStore& store,
                                                         const sinks::StreamId& stream);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_BASE_SCHEDULER_H_
