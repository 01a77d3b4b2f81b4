// Plans a restore that starts from a base snapshot: the recovery window (oldest complete
// base .. last durable change), marks, and which base and change segments a target needs.
// Reads the catalogs only (manifests and index objects).
#ifndef WALSHIP_REPLAY_PLAN_BASE_PLANNER_H_
#define WALSHIP_REPLAY_PLAN_BASE_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "replay/catalog/base_catalog.h"
#include "replay/plan/recovery_target.h"
#include "replay/plan/restore_planner.h"
#include "replay/catalog/segment_catalog.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct RecoveryWindow {
  bool empty = true;  // no complete base
  Lsn earliest_lsn;   // the oldest complete base's snapshot
  int64_t earliest_time_us = 0;
  Lsn latest_lsn;  // the last durable change (end LSN), or the newest base's snapshot
  int64_t latest_time_us = 0;
  // "2026-11-20 02:00:03 .. 2026-11-25 17:31:12 UTC"
  std::string DescribeTimes() const;
};
RecoveryWindow ComputeWindow(const BaseCatalog& bases, const SegmentCatalog& changes);

struct BaseRestorePlan {
  CatalogBase base;
  // Change segments to read after the base; plan.first_commit_lsn is the base's snapshot
  // LSN (earlier transactions are in the base).
  RestorePlan changes;
  // Every segment of the stream, for the sequence recordings past the target.
  std::vector<CatalogSegment> stream_segments;
};

// Picks the latest base with snapshot_lsn <= target LSN (snapshot time <= target time for
// kTime; the newest for kEverything). kXid and kMark targets must be resolved to kLsn first.
// Errors: no complete base (kFailedPrecondition), a target outside the window
// (kInvalidArgument, with the window), a gap between the base and the target
// (kFailedPrecondition naming it).
absl::StatusOr<BaseRestorePlan> PlanBaseRestore(const BaseCatalog& bases,
                                                const SegmentCatalog& changes,
                                                const RecoveryTarget& target);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_PLAN_BASE_PLANNER_H_
