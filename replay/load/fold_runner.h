// Builds a ChangeFold on a thread of its own, so that the tables the change window leaves
// alone load while the window is read; the loads of the tables it changes wait for it.
#ifndef WALSHIP_REPLAY_LOAD_FOLD_RUNNER_H_
#define WALSHIP_REPLAY_LOAD_FOLD_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "proto/core/lsn.h"
#include "replay/load/change_fold.h"

namespace walship::replay {

// The relations whose rows the plan's segments change, from their index objects alone, or
// nullopt when a segment does not list them (written before the list existed).
std::optional<absl::flat_hash_set<RelationOid>> ChangedRelations(const RestorePlan& plan);

// Starts ChangeFold::Build(store, plan, manifest, options) at construction. The arguments
// must outlive the runner. Wait() may be called from any thread, any number of times. The
// destructor stops an unfinished fold early and joins its thread.
class FoldRunner {
 public:
  FoldRunner(sinks::ObjectStore* store, const RestorePlan& plan, const v1::BaseManifest& manifest,
             FoldOptions options);
  ~FoldRunner();
  FoldRunner(const FoldRunner&) = delete;
  FoldRunner& operator=(const FoldRunner&) = delete;

  // Blocks until the fold is built; its error, if reading the window failed. The fold
  // stays owned by the runner.
  absl::StatusOr<ChangeFold*> Wait();
  // Whether Wait() would return at once.
  bool Done() const { return done_.HasBeenNotified(); }

 private:
  std::atomic<bool> cancel_{false};
  absl::Notification done_;
  absl::Status status_;               // written before done_ is notified
  std::unique_ptr<ChangeFold> fold_;  // likewise
  std::thread thread_;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_LOAD_FOLD_RUNNER_H_
