// Plans a restore: which segments of the chain to read and where to stop, from the
// catalog (index objects) alone. Refuses to cross a gap.
#ifndef WALSHIP_REPLAY_PLAN_RESTORE_PLANNER_H_
#define WALSHIP_REPLAY_PLAN_RESTORE_PLANNER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "replay/plan/recovery_target.h"
#include "replay/catalog/segment_catalog.h"

namespace walship::replay {

struct RestorePlan {
  RecoveryTarget target;
  // Segments to read, in order.
  std::vector<CatalogSegment> segments;
  // Transactions are applied while commit_lsn <= last_commit_lsn and
  // commit_time_us <= last_commit_time_us; the first one past either ends the restore.
  Lsn last_commit_lsn = Lsn::Max();
  int64_t last_commit_time_us = INT64_MAX;
  // Transactions committed before this LSN are skipped (they are in the base snapshot the
  // restore started from); 0 applies everything.
  Lsn first_commit_lsn;
  // kXid targets only: indexes into `segments` whose xid range holds the xid, in order.
  // The xid's commit LSN must be found in them (ResolveXidTarget) before applying.
  std::vector<size_t> xid_candidates;
};

// Whether `commit_lsn`/`commit_time_us` lie past the plan's stop point (the first such
// transaction ends the restore).
inline bool PastTarget(const RestorePlan& plan, Lsn commit_lsn, int64_t commit_time_us) {
  return commit_lsn > plan.last_commit_lsn || commit_time_us > plan.last_commit_time_us;
}

// Errors: no segments (kFailedPrecondition), a target before the oldest stored
// transaction or an xid outside every segment's xid range (kInvalidArgument), a gap before
// the stop point (kFailedPrecondition naming the gap's LSN range and the segments on both
// sides).
absl::StatusOr<RestorePlan> PlanRestore(const SegmentCatalog& catalog,
                                        const RecoveryTarget& target);

// Turns a kXid plan into an LSN-bounded one once the xid's commit LSN is known: keeps the
// segments up to the one holding it, and stops after it (or just before it, exclusive).
RestorePlan BoundXidPlan(RestorePlan plan, Lsn xid_commit_lsn);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_PLAN_RESTORE_PLANNER_H_
