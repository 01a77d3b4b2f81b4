// A restore from a base snapshot (ARCHITECTURE.md "Restore semantics"): schema without
// keys, base rows by parallel COPY, keys built in parallel, changes from the snapshot LSN to
// the target, then the rest of the post-data schema (index builds in parallel) and the
// sequences, ending with a durable commit. Also the table-level restore into a new schema.
#ifndef WALSHIP_REPLAY_COMMANDS_BASE_RESTORER_H_
#define WALSHIP_REPLAY_COMMANDS_BASE_RESTORER_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/core/clock.h"
#include "replay/load/base_loader.h"
#include "replay/plan/base_planner.h"
#include "replay/catalog/object_cache.h"
#include "replay/apply/restorer.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct BaseRestoreOptions {
  bool force = false;  // empty target tables that hold rows
  uint64_t batch_events = 10000;
  int jobs = 4;  // parallel COPY connections (and index builds)
  // Tables of at least this many stored bytes may load over several COPY streams when
  // there are more jobs than tables (and the restore creates the schema, keys after the load).
  // Off by default: PostgreSQL 15 serializes the streams on the table's extension lock, and
  // measured on 2 cores 2-3 streams into one table were no faster than one, while taking
  // the cores the other tables' loads and index builds need (again on the realistic-day
  // bench, idle machine: 465 MiB of TOASTed tickets took 18.4 s over one stream and 16.9 s
  // over three, the whole restore 31.7-32.7 s either way).
  uint64_t split_table_bytes = std::numeric_limits<uint64_t>::max();
  // default_toast_compression of the restore's sessions: how values stored out of line are
  // compressed in columns without a compression method of their own ("lz4", "pglz"; empty
  // keeps the target's setting). The values are the same either way; measured on the
  // realistic-day bench, 465 MiB of 6-8 kB ticket bodies loaded in 6.0 s with lz4 and
  // 11.5 s with pglz. A server built without lz4 keeps its own setting (with a warning).
  std::string toast_compression = "lz4";
  // Only these tables ("schema.table", or "table" for public); empty: all in the base.
  std::vector<std::string> tables;
  // With `tables`: create them in this new schema and touch nothing else.
  std::string into_schema;
  // After loading the base, compare each table with the manifest's checksum.
  bool check_base = false;
  // Fold the change window into the base load (see ChangeFold) while the folded rows take
  // at most about this many bytes; 0 applies every change as a statement. Only when the
  // restore creates the schema, and not with check_base or a table-level restore.
  uint64_t fold_memory_bytes = uint64_t{1} << 30;
  bool progress_on_terminal = false;
  // Times the phases and paces progress lines.
  Clock* clock = &SystemClock();
  // Free-standing sequences: when the restore ends past the agent's last recording, this
  // many increments are added to the recorded values (nextval calls after it are unknown).
  int64_t sequence_margin = 1000;
  // Create the roles the base's privileges name that the target server lacks (without
  // passwords); without it such a restore is refused before its first write.
  bool create_roles = false;
  // The remote store's local copy the pre-flight fetches into (null: read the store).
  ObjectCache* cache = nullptr;
  // Set to true right before the first write to the target (a failure after it leaves the
  // target incomplete). May be null.
  bool* began_writing = nullptr;
};

struct BaseRestoreResult {
  std::vector<TableLoadResult> tables;  // base rows loaded
  RestoreResult changes;                // every change after the base, folded or applied
  uint64_t folded_events = 0;           // of which folded into the base load (see ChangeFold)
  size_t foreign_keys_added_early = 0;  // added to empty tables (see EarlyForeignKeys)
  size_t sequences_set = 0;
  uint64_t large_objects = 0;
  absl::Duration schema_time, copy_time, change_time, finish_time;
};

// Restores `plan` into the database at `conninfo`. Target checks: tables that all exist and
// are empty are filled (holding rows: refused unless force, which empties them); tables
// that do not exist are created from the base's schema; some existing and some not is
// refused. The store must outlive the call.
absl::StatusOr<BaseRestoreResult> RestoreFromBase(sinks::ObjectStore* store,
                                                  const sinks::StreamId& stream,
                                                  const BaseRestorePlan& plan,
                                                  const std::string& conninfo,
                                                  const BaseRestoreOptions& options);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_BASE_RESTORER_H_
