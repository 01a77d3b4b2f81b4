// Every recovery target resolved in one place, once: marks to the commit LSN that wrote
// them (index objects only), xids to their commit LSN (reading only the segments whose xid
// range holds them), and the plan of a restore without a base.
#ifndef WALSHIP_REPLAY_PLAN_TARGET_RESOLVER_H_
#define WALSHIP_REPLAY_PLAN_TARGET_RESOLVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "replay/catalog/segment_catalog.h"
#include "replay/plan/recovery_target.h"
#include "replay/plan/restore_planner.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// A mark as the index objects record it.
struct MarkInfo {
  std::string name;
  Lsn commit_lsn;
  int64_t commit_time_us = 0;
  Xid xid;
};
std::vector<MarkInfo> CollectMarks(const SegmentCatalog& changes);

// Turns a kMark target into a kLsn one at the mark's commit LSN (inclusive). A name written
// more than once, or never, is kInvalidArgument listing the candidates / the marks stored.
// Other targets are returned unchanged.
absl::StatusOr<RecoveryTarget> ResolveMarkTarget(const SegmentCatalog& changes,
                                                 RecoveryTarget target);

// For a kXid plan: finds the xid's commit LSN by reading only the candidate segments, and
// bounds the plan there. Other plans are returned unchanged. An xid found in none of them
// is kInvalidArgument.
absl::StatusOr<RestorePlan> ResolveXidTarget(sinks::ObjectStore* store, RestorePlan plan);

// Resolves kMark (from the index objects) and kXid (reading only the segments whose xid
// range holds it) into kLsn targets at the transaction's commit LSN (just before it for an
// exclusive xid); other targets are returned unchanged. Call it once per restore.
absl::StatusOr<RecoveryTarget> ResolveTarget(sinks::ObjectStore* store,
                                                  const SegmentCatalog& changes,
                                                  RecoveryTarget target);

// The plan of a restore without a base: the target resolved (above) and planned over the
// whole chain; an xid plan is bounded at the xid's commit.
absl::StatusOr<RestorePlan> PlanChangesRestore(sinks::ObjectStore* store,
                                               const SegmentCatalog& changes,
                                               const RecoveryTarget& target);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_PLAN_TARGET_RESOLVER_H_
