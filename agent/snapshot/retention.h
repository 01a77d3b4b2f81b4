// Retention of base snapshots and change segments (`--retain-base N`, `--retain-days D`)
// and removal of interrupted bases. PlanRetention is pure; the store functions do I/O.
#ifndef WALSHIP_AGENT_SNAPSHOT_RETENTION_H_
#define WALSHIP_AGENT_SNAPSHOT_RETENTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::agent::snapshot {

// One base directory found in a store.
struct StoredBase {
  Lsn snapshot_lsn;
  absl::Time snapshot_time = absl::InfinitePast();
  // A readable manifest.pb exists. Incomplete bases are never counted, never kept as a
  // restore point and never deleted by retention (see CleanIncompleteBases).
  bool complete = false;
  // Every object under the base directory.
  std::vector<std::string> keys;
};

// One wal/ or index/ object.
struct StoredSegmentObject {
  std::string key;
  Lsn last_end;
};

// A part of a segment split across objects (part/), by the first commit its name holds.
struct StoredPartObject {
  std::string key;
  Lsn first_commit;
};

struct StoreContents {
  std::vector<StoredBase> bases;  // by snapshot LSN, ascending
  std::vector<StoredSegmentObject> segments;
  std::vector<StoredPartObject> parts;
};

struct RetentionPolicy {
  // Keep the newest N complete bases (0: rule not set).
  int retain_base = 0;
  // Keep every point of the last D days restorable (zero: rule not set): every base taken
  // within D days plus the newest one before that window.
  absl::Duration retain_for = absl::ZeroDuration();
  bool enabled() const { return retain_base > 0 || retain_for > absl::ZeroDuration(); }
};

struct RetentionPlan {
  // In deletion order: each deleted base's manifest.pb first (so that a crash mid-way leaves
  // an incomplete base, never a manifest naming missing objects), then its other objects,
  // then index/ objects, then wal/ objects.
  std::vector<std::string> delete_keys;
  std::vector<Lsn> deleted_bases;
  // The oldest complete base kept (Invalid when the store has none): no wal/ or index/
  // object whose last_end is at or after it is deleted.
  Lsn oldest_kept_base;
};

// With both rules set, a base is kept when either rule keeps it. The newest complete base is
// always kept; with no rule set, or no complete base, nothing is deleted. Segments are
// deleted only when their last_end < oldest_kept_base.
RetentionPlan PlanRetention(const StoreContents& contents, const RetentionPolicy& policy,
                            absl::Time now);

// Lists the stream's base/, wal/ and index/ objects and reads every manifest for its
// snapshot time. A manifest that cannot be parsed marks its base incomplete.
absl::StatusOr<StoreContents> ListStoreContents(sinks::ObjectStore& store,
                                                const sinks::StreamId& stream);

// Deletes the plan's keys in order; stops at the first error (a later run redoes the rest).
absl::Status ApplyRetention(sinks::ObjectStore& store, const RetentionPlan& plan);

// ListStoreContents + PlanRetention + ApplyRetention on one store: what the agent runs after
// each successful base (and on each store it writes to). Returns the plan it applied.
absl::StatusOr<RetentionPlan> RunRetention(sinks::ObjectStore& store,
                                           const sinks::StreamId& stream,
                                           const RetentionPolicy& policy, absl::Time now);

// Deletes every object of each base directory that has no manifest.pb (a base snapshot that
// was interrupted). Call only while no base snapshot of this stream is being taken (at
// start, before TakeBaseSnapshot). Returns the number of objects deleted.
absl::StatusOr<int> CleanIncompleteBases(sinks::ObjectStore& store,
                                         const sinks::StreamId& stream);

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_RETENTION_H_
