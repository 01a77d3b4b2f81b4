// Takes base snapshots by policy on a thread of its own while the stream continues, and
// applies retention after each success.
#ifndef WALSHIP_AGENT_BASE_SCHEDULER_H_
#define WALSHIP_AGENT_BASE_SCHEDULER_H_

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/snapshot/base_policy.h"
#include "agent/snapshot/base_snapshotter.h"
#include "agent/snapshot/retention.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::agent {

class BaseScheduler {
 public:
  // Stores and metrics (nullable) must outlive the scheduler.
  BaseScheduler(snapshot::SnapshotOptions options, std::vector<sinks::ObjectStore*> stores,
                sinks::StreamId stream, snapshot::BasePolicy policy,
                snapshot::RetentionPolicy retention, AgentMetrics* metrics);
  ~BaseScheduler();

  // Takes one base now, on the calling thread (the first start), then applies retention.
  absl::Status TakeNow();
  // Starts the periodic thread; `last` is when the newest stored base was taken.
  void Start(std::optional<absl::Time> last);
  // Cancels a base in progress and joins the thread.
  void Stop();

 private:
  void Loop();

  snapshot::SnapshotOptions options_;
  std::vector<sinks::ObjectStore*> stores_;
  sinks::StreamId stream_;
  snapshot::BasePolicy policy_;
  snapshot::RetentionPolicy retention_;
  AgentMetrics* metrics_;
  std::atomic<bool> cancel_{false};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Time> last_;
  std::thread thread_;
};

// When the newest complete base in `store` was taken (nullopt: none).
absl::StatusOr<std::optional<absl::Time>> NewestBaseTime(sinks::ObjectStore& store,
                                                         const sinks::StreamId& stream);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_BASE_SCHEDULER_H_
