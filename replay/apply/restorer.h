// Runs a planned restore: reads the plan's segments in order and hands their records to an
// Applier until the recovery target is reached.
#ifndef WALSHIP_REPLAY_APPLY_RESTORER_H_
#define WALSHIP_REPLAY_APPLY_RESTORER_H_

#include <functional>

#include "absl/status/statusor.h"
#include "proto/core/clock.h"
#include "agent/pg/pg_connection.h"
#include "replay/apply/applier.h"
#include "replay/plan/restore_planner.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct RestoreOptions {
  ApplierOptions applier;
  // Rewrite one progress line on stderr (a terminal) instead of logging progress.
  bool progress_on_terminal = false;
  // Paces the progress lines.
  Clock* clock = &SystemClock();
  // When set, sees every record (RelationDef or Event) before the applier, may rewrite it
  // (e.g. move a table to another schema) and returns false to drop it.
  std::function<bool(v1::Record*)> filter;
  // Events before this position are not applied (a ChangeFold took them); segments that
  // end before it are not read.
  EventPosition start_at;
  // When set, events at or after start_at for which it returns true are not applied either
  // (a ChangeFold took them: the tables it folded past start_at).
  std::function<bool(const v1::Event&)> folded;
};

struct RestoreResult {
  ApplierStats stats;
  // True when a transaction past the target was seen (the stream goes on after it).
  bool stopped_at_target = false;
};

// Applies the plan to `target` (a kNormal connection). The store and connection must
// outlive the call. The plan's target must be resolved (PlanChangesRestore).
absl::StatusOr<RestoreResult> Restore(sinks::ObjectStore* store, RestorePlan plan,
                                      agent::pg::PgConnection* target, const RestoreOptions& options);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_RESTORER_H_
