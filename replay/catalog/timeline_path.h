// The histories a stream holds (ARCHITECTURE.md contract 6): its incarnation records, the
// timeline branches they make and the gaps recorded in each; and the path of branches a
// restore follows, like PostgreSQL's recovery_target_timeline.
#ifndef WALSHIP_REPLAY_CATALOG_TIMELINE_PATH_H_
#define WALSHIP_REPLAY_CATALOG_TIMELINE_PATH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct StreamBranch {
  sinks::StreamId stream;  // with its branch
  uint32_t timeline = 0;   // 0: unknown (a store written before incarnation records)
  // Where it forked from its parent (0 for the first branch): the parent's timeline and the
  // switch point (records before it are shared).
  uint32_t parent_timeline = 0;
  Lsn switch_lsn;
  int64_t switch_time_us = 0;
  std::vector<v1::StreamIncarnation> incarnations;
  std::vector<v1::GapRecord> gaps;
};

struct StreamHistory {
  std::vector<v1::StreamIncarnation> incarnations;  // by number
  std::vector<StreamBranch> branches;               // by timeline; [0] is the first
};

// Reads the incarnation records and each branch's gap records. A store without records
// (written before them) is one branch with unknown timeline.
absl::StatusOr<StreamHistory> LoadStreamHistory(sinks::ObjectStore* store,
                                                const sinks::StreamId& stream);

// One branch of a restore's path; `limit` (Invalid: none) ends it: only transactions that
// committed before it belong to the path (the next branch's switch point).
struct PathStep {
  const StreamBranch* branch = nullptr;
  Lsn limit;
};
// The branches from the first to timeline `timeline` (0: the newest), oldest first.
// kInvalidArgument naming the stored timelines for one the store does not hold.
absl::StatusOr<std::vector<PathStep>> TimelinePath(const StreamHistory& history,
                                                   uint32_t timeline);

// The branch of the newest incarnation (what `status` and `drill` look at).
sinks::StreamId NewestBranch(const StreamHistory& history, const sinks::StreamId& root);

// Lines for `list` (each ending in '\n'): the incarnations, forks and recorded gaps.
std::string FormatHistory(const StreamHistory& history);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_CATALOG_TIMELINE_PATH_H_
