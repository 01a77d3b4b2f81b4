// Reads a restore's change window ahead of the base load and folds its row changes into
// per-table net effects (FoldedTable), so the base load writes every row once in its final
// state. Folding stops at the first event it cannot fold (DDL, TRUNCATE, a table whose
// description differs from the base's or that has no key, a row change FoldedTable refuses)
// or when the memory bound is reached; everything from there on is applied by the Applier
// as before. Since the fold covers a prefix of the stream in commit order, base + folded
// prefix is exactly the source at the cut point, and the rest follows in order.
#ifndef WALSHIP_REPLAY_LOAD_CHANGE_FOLD_H_
#define WALSHIP_REPLAY_LOAD_CHANGE_FOLD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "replay/apply/applier.h"
#include "replay/load/folded_table.h"
#include "replay/plan/restore_planner.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct FoldOptions {
  // Stop folding once the folded rows take about this many bytes of memory.
  uint64_t memory_limit_bytes = uint64_t{1} << 30;
  // When set and true, Build() stops early with kCancelled.
  const std::atomic<bool>* cancel = nullptr;
};

class ChangeFold {
 public:
  // Reads `plan` (an LSN/time-bounded plan: xid targets resolved) from its start, skipping
  // events committed before plan.first_commit_lsn, up to the target or the cut. `tables`
  // are the base's tables: only their changes fold. The store must outlive the call.
  // Errors: unreadable or corrupt segments (as the restore would report them).
  static absl::StatusOr<std::unique_ptr<ChangeFold>> Build(sinks::ObjectStore* store,
                                                           const RestorePlan& plan,
                                                           const v1::BaseManifest& manifest,
                                                           const FoldOptions& options);

  // The folded changes of a base table (by source oid), or null when it has none.
  FoldedTable* Table(RelationOid oid);

  // True when every event up to the recovery target was folded: nothing is left to apply.
  bool complete() const { return complete_; }
  // When !complete(): the first event not folded; the Applier starts there.
  EventPosition resume_at() const { return resume_at_; }
  // Why folding stopped early (empty when complete), for the log.
  const std::string& cut_reason() const { return cut_reason_; }
  // Folded transactions and events, and the last folded position.
  const ApplierStats& stats() const { return stats_; }
  // The window went on past the target (as RestoreResult::stopped_at_target).
  bool stopped_at_target() const { return stopped_at_target_; }
  uint64_t memory_bytes() const;

 private:
  ChangeFold() = default;

  absl::flat_hash_map<RelationOid, std::unique_ptr<FoldedTable>> tables_;
  bool complete_ = false;
  EventPosition resume_at_;
  std::string cut_reason_;
  ApplierStats stats_;
  bool stopped_at_target_ = false;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_LOAD_CHANGE_FOLD_H_
