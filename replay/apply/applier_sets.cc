// The Applier's set path (ApplierOptions::fold_batches): a target transaction's row changes
// of each keyed table are folded by key (FoldedTable) and applied at the end of the batch,
// or before anything that needs them in place, as two set statements instead of one
// statement per change: the rows the changes found in place go (one DELETE joined with a
// temporary table of their keys, whose count must match), and the final rows come (one
// COPY). Tables without a key (REPLICA IDENTITY FULL or none) and changes the fold refuses
// (an unchanged-TOAST value whose row is not in the batch, a contradiction) go by
// statement, after the table's batch.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "replay/apply/applier.h"

namespace walship::replay {

absl::StatusOr<bool> Applier::FoldIntoSet(const v1::Relation& relation, const v1::Event& event) {
  // Keyless tables (named by whole rows) stay on the statement path.
  if (!options_.fold_batches || IsFullIdentity(relation)) return false;
  const RelationOid oid = proto::OidOf(relation);
  auto it = sets_.find(oid);
  if (it == sets_.end()) {
    it = sets_.try_emplace(oid).first;
    it->second.fold = std::make_unique<FoldedTable>(relation);
    it->second.fold->set_whole_rows();
    it->second.first = EventPlace(event);
  }
  SetBatch& batch = it->second;
  if (!batch.fold->Fold(event)) {
    WALSHIP_RETURN_IF_ERROR(FlushSet(oid));
    return false;
  }
  ++batch.events;
  ++stats_.set_events;
  if (batch.fold->memory_bytes() >= options_.fold_batch_bytes) {
    WALSHIP_RETURN_IF_ERROR(FlushSet(oid));
  }
  return true;
}

absl::Status Applier::FlushSets() {
  while (!sets_.empty()) WALSHIP_RETURN_IF_ERROR(FlushSet(sets_.begin()->first));
  return absl::OkStatus();
}

absl::Status Applier::FlushSet(RelationOid oid) {
  auto found = sets_.find(oid);
  if (found == sets_.end()) return absl::OkStatus();
  SetBatch batch = std::move(found->second);
  sets_.erase(found);
  auto state_it = relations_.find(oid);
  if (state_it == relations_.end()) {
    return absl::InternalError("a folded batch of changes has no relation");
  }
  RelationState& state = *state_it->second;
  const v1::Relation& relation = state.relation;
  const std::string what = absl::StrFormat("applying %d changes of \"%s\" (the first %s) as a set",
                                           batch.events, DisplayName(relation), batch.first);
  std::string keys, rows;
  uint64_t key_count = 0;
  WALSHIP_RETURN_IF_ERROR(batch.fold->ForEachChange(
      [&](absl::string_view key) {
        absl::StrAppend(&keys, key, "\n");
        ++key_count;
        return absl::OkStatus();
      },
      [&](absl::string_view row) {
        absl::StrAppend(&rows, row, "\n");
        return absl::OkStatus();
      }));
  batch.fold.reset();
  WALSHIP_RETURN_IF_ERROR(pipeline_.Drain());
  if (copy_.rows > 0 && copy_.oid == oid) WALSHIP_RETURN_IF_ERROR(FlushCopy());
  const std::string table = agent::pg::QuoteQualified(relation.schema(), relation.table());
  std::vector<std::string> key_columns, columns, matches;
  for (const v1::Column& column : relation.columns()) {
    std::string name = agent::pg::QuoteIdent(column.name());
    if (column.key()) {
      matches.push_back(absl::StrCat("t.", name, " = k.", name));
      key_columns.push_back(name);
    }
    columns.push_back(std::move(name));
  }
  if (key_count > 0) {
    if (state.key_table.empty()) {
      std::string name = absl::StrCat("pg_temp.walship_keys_", ++key_tables_);
      WALSHIP_RETURN_IF_ERROR(conn_->Exec(
          absl::StrCat("CREATE TEMPORARY TABLE ", name, " AS SELECT ",
                       absl::StrJoin(key_columns, ", "), " FROM ", table, " WITH NO DATA"),
          what));
      state.key_table = std::move(name);
    }
    WALSHIP_RETURN_IF_ERROR(CopyIn(absl::StrCat("COPY ", state.key_table, " (",
                                                absl::StrJoin(key_columns, ", "), ") FROM STDIN"),
                                   keys, what));
    // Without statistics the planner takes the key table for large and scans the target.
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("ANALYZE ", state.key_table), what));
    WALSHIP_ASSIGN_OR_RETURN(
        std::optional<std::string> deleted,
        conn_->QueryValue(
            absl::StrCat("WITH gone AS (DELETE FROM ", table, " t USING ", state.key_table,
                         " k WHERE ", absl::StrJoin(matches, " AND "),
                         " RETURNING 1) SELECT count(*) FROM gone"),
            {}, what));
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("TRUNCATE ", state.key_table), what));
    uint64_t count = 0;
    if (!deleted || !absl::SimpleAtoi(*deleted, &count) || count != key_count) {
      return absl::DataLossError(absl::StrFormat(
          "%s: the changes update or delete %d rows that must be in the target, but %s of "
          "them are (the target does not hold the rows the stream says it changed)",
          what, key_count, deleted.value_or("none")));
    }
  }
  if (!rows.empty()) {
    WALSHIP_RETURN_IF_ERROR(
        CopyIn(absl::StrCat("COPY ", table, " (", absl::StrJoin(columns, ", "), ") FROM STDIN"),
               rows, what));
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
