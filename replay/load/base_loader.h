// Loads a base snapshot's rows into target tables: each table's base segments streamed into
// COPY ... FROM STDIN streams, several tables at once on their own connections.
#ifndef WALSHIP_REPLAY_LOAD_BASE_LOADER_H_
#define WALSHIP_REPLAY_LOAD_BASE_LOADER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/pg/session.h"
#include "proto/walship.pb.h"
#include "replay/apply/folded_table.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// One table to load: the manifest entry and where its rows go.
struct TableLoadJob {
  const v1::BaseTable* table = nullptr;  // owned by the caller's manifest
  std::string target_schema;
  std::string target_table;
  // When set, the net effect of the change window on this table, laid over its base rows
  // as they load (rows deleted are left out, updated ones go in their final state, inserted
  // ones are added at the end). Used by this job's loading thread only.
  FoldedTable* folded = nullptr;
  // When set, called on the loading thread before the table's rows are read, and gives
  // `folded` (waiting for the change window to be read); its error ends the load. Tables
  // without it load first.
  std::function<absl::StatusOr<FoldedTable*>()> await_fold;
  // The restore created the (empty) table and nothing else uses it yet: a load over one
  // COPY stream empties it in its own transaction and copies with FREEZE, so rows go in
  // frozen and the index builds and checks that scan it next set no hint bits.
  bool created = false;
};

struct TableLoadResult {
  std::string name;        // "schema.table" at the target
  uint64_t rows = 0;       // rows loaded (the base's, with folded changes laid over them)
  uint64_t base_rows = 0;  // rows the base holds
  uint64_t bytes = 0;      // COPY text bytes sent
};

// Loads every job with up to `jobs` sessions opened with `connect` (each with
// synchronous_commit off). Tables load at once; a table much larger than the others, and
// connections left over when there are fewer tables than jobs, become extra COPY streams
// (see PlanStreams) of the tables of at least `split_bytes` stored bytes, the table's rows
// divided between them (whole records of its base objects in turn;
// the streams commit together once all ended and the counts match). Split only tables
// without unique indexes: streams of one table inserting the same key would wait on each
// other. Each table's row count is checked against the manifest and the rows its segments
// announce, and the rows sent with what the server loaded. Base segments are checked (checksum,
// kind, relation oid). Errors name the table and the object; tables loaded before an error stay
// loaded. `stream` resolves object keys relative to the stream. The store must be thread-safe and
// outlive the call.
//
// The hooks, each optional, run on a table's loading thread: `before_table` once its fold is at
// hand and before its rows are read, `after_table` once it is loaded and committed (while other
// tables still load); an error of either ends the load like a load error. `on_failure` runs when
// the load fails, so that a hook waiting on another table's progress stops waiting.
using TableHook = std::function<absl::Status(const TableLoadJob&)>;
struct LoadHooks {
  TableHook before_table;
  TableHook after_table;
  std::function<void()> on_failure;
};
absl::StatusOr<std::vector<TableLoadResult>> LoadBaseTables(
    sinks::ObjectStore* store, const sinks::StreamId& stream,
    const agent::pg::CopyInSessionFactory& connect, const std::vector<TableLoadJob>& work, int jobs, uint64_t split_bytes = 1 << 20,
    const LoadHooks& hooks = {});

// How LoadBaseTables spreads `jobs` connections over tables of `bytes` stored bytes: the
// threads loading a table each, and the extra COPY streams of each table (those of at least
// `split_bytes`). A table larger than total/jobs gets a stream per such share, spare
// connections (fewer tables than jobs) go to the largest tables per stream, and never more
// than `jobs` connections in all. Pure function.
struct StreamPlan {
  int threads = 1;
  std::vector<int> extra_streams;
};
StreamPlan PlanStreams(const std::vector<uint64_t>& bytes, int jobs, uint64_t split_bytes);

// The per-table checksum of bases before manifest format 3 (BaseTable.checksum): md5 of
// every row's text sorted with COLLATE "C", joined with '\n'. SQL for one (already quoted)
// table. Newer bases carry a row digest instead (table_digest.h).
std::string TableChecksumSql(const std::string& quoted_table);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_LOAD_BASE_LOADER_H_
