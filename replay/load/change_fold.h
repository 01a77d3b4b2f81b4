// Reads a restore's change window ahead of the base load and folds its row changes into
// per-table net effects (FoldedTable), so the base load writes every row once in its final
// state.
//
// Folding is decided per table: a change a table cannot fold (a schema change naming the
// table, a description that differs from the base's, a row change FoldedTable refuses)
// cuts that table only. A TRUNCATE of tables that all still fold does not cut them: each
// folds anew on no base rows (FoldedTable::DropBase). Its changes up to the cut stay folded; the
// Applier applies its changes from the cut on, in commit order, after the load. Every other table
// goes on folding to the end of the window. This is exact because a table's final state depends
// only on its own changes in their order (the Applier runs as a replication worker does,
// with triggers and foreign key actions off), so each table is base + its folded prefix +
// its statements. Two things cut every table at once and end the reading: the memory
// bound, and a schema change that is not about named tables (a type, a function, a
// partition moved), since its effect on rows folded past it cannot be told. Schema changes
// themselves are always left to the Applier, in their place in the stream.
#ifndef WALSHIP_REPLAY_LOAD_CHANGE_FOLD_H_
#define WALSHIP_REPLAY_LOAD_CHANGE_FOLD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "replay/apply/applier.h"
#include "replay/apply/folded_table.h"
#include "replay/apply/line_spill.h"
#include "replay/plan/restore_planner.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct FoldOptions {
  // Stop folding once the folded rows take about this many bytes of memory. From a quarter
  // of it on, row images go to a temporary file (only a reference stays in memory).
  uint64_t memory_limit_bytes = uint64_t{1} << 30;
  // When set and true, Build() stops early with kCancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Cut tables one at a time. Off when the Applier's statements would fire foreign key
  // checks (no session_replication_role = replica): they must see every table at the same
  // moment of the stream, so the first cut is a cut of every table.
  bool per_table = true;
};

class ChangeFold {
 public:
  // Reads `plan` (an LSN/time-bounded plan: xid targets resolved) from its start, skipping
  // events committed before plan.first_commit_lsn, up to the target or the memory bound.
  // `tables` are the base's tables: only their changes fold. The store must outlive the
  // call. Errors: unreadable or corrupt segments (as the restore would report them).
  static absl::StatusOr<std::unique_ptr<ChangeFold>> Build(sinks::ObjectStore* store,
                                                           const RestorePlan& plan,
                                                           const v1::BaseManifest& manifest,
                                                           const FoldOptions& options);

  // The folded changes of a base table (by source oid), or null when it has none.
  FoldedTable* Table(RelationOid oid);

  // True when every event up to the recovery target was folded: nothing is left to apply.
  bool complete() const { return complete_; }
  // True when the fold holds the table's final state (no change of it is left to apply).
  bool TableFinal(RelationOid oid) const;
  // When !complete(): the first event the Applier may need; it reads from there.
  EventPosition start_at() const { return start_at_; }
  // For an event at or after start_at(): whether it was folded (the Applier skips it).
  bool Folded(const v1::Event& event) const;
  // Whether some tables were cut alone: until the Applier is done, tables are then at
  // different moments of the stream, so checks across tables (foreign keys) must wait.
  bool cuts_tables() const { return !cut_.empty(); }
  // When every table was cut (the memory bound, a schema change not about named tables):
  // where. Every event from there on is applied.
  const std::optional<EventPosition>& all_cut() const { return all_cut_; }
  // Why folding stopped for which tables (empty when complete), for the log.
  std::string cut_reason() const;
  // Folded events, the transactions read (a transaction the memory bound cut is not
  // counted), and the last folded position.
  const ApplierStats& stats() const { return stats_; }
  // The window went on past the target (as RestoreResult::stopped_at_target).
  bool stopped_at_target() const { return stopped_at_target_; }
  uint64_t memory_bytes() const;
  // Bytes of row images the fold spilled to a temporary file (see LineSpill).
  uint64_t spilled_bytes() const { return spill_ == nullptr ? 0 : spill_->bytes(); }

 private:
  friend class WindowFolder;
  ChangeFold() = default;

  std::unique_ptr<LineSpill> spill_;  // before tables_, which refer to it
  absl::flat_hash_map<RelationOid, std::unique_ptr<FoldedTable>> tables_;
  // Tables whose changes from this position on are applied as statements.
  absl::flat_hash_map<RelationOid, EventPosition> cut_;
  std::optional<EventPosition> all_cut_;
  bool complete_ = false;
  EventPosition start_at_;
  std::vector<std::string> cut_reasons_;
  ApplierStats stats_;
  bool stopped_at_target_ = false;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_LOAD_CHANGE_FOLD_H_
