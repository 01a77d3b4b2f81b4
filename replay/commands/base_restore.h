// The phases of a restore from a base (RestoreFromBase in base_restorer.h), and the state
// they share: base_restorer.cc runs them and holds the session, pre-flight, changes and
// post-data phases; base_restore_schema.cc the schema; base_restore_load.cc the base load
// with its key and index builds.
#ifndef WALSHIP_REPLAY_COMMANDS_BASE_RESTORE_H_
#define WALSHIP_REPLAY_COMMANDS_BASE_RESTORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"
#include "replay/apply/restore_statements.h"
#include "replay/apply/sql_script.h"
#include "replay/apply/table_level_schema.h"
#include "replay/commands/base_restorer.h"
#include "replay/load/early_foreign_keys.h"
#include "replay/load/fold_runner.h"

namespace walship::replay {

// One restore from a base, as named phases run in order (Run()): Open, Preflight, Schema,
// Load (with key builds), Changes, PostData. The state they share lives here; the loader's
// threads reach it only through the hooks Load() installs (BuildKeys, under keys_mu_).
class BaseRestore {
 public:
  BaseRestore(sinks::ObjectStore* store, const sinks::StreamId& stream,
              const BaseRestorePlan& plan, const std::string& conninfo,
              const BaseRestoreOptions& options, agent::pg::Session* session = nullptr)
      : store_(store),
        stream_(stream),
        plan_(plan),
        manifest_(plan.base.manifest),
        conninfo_(conninfo),
        options_(options),
        table_level_(!options.into_schema.empty()),
        session_(session) {}

  // Every phase in order; the result once all succeeded.
  absl::StatusOr<BaseRestoreResult> Run();

  // The phases, in order (Run() calls them; tests call them one by one). Given a `session`,
  // Open() uses it instead of connecting to `conninfo`; Changes() needs the libpq
  // connection Open() makes, and the load and the rest of the schema connect on their own.
  //
  // 0. The target session, and the base tables the restore covers.
  absl::Status Open();

  // Every object the restore reads is fetched (remote stores) and checked before anything
  // is written to the target.
  absl::Status Preflight();

  // 1. The schema with keys: the chosen tables in a new schema, the base's whole pre-data
  // schema into an empty target, or an existing schema's tables checked (and emptied with
  // --force).
  absl::Status Schema();

  // 2. Base rows, with each table's keys (and, when it is final once loaded, its indexes)
  // built as soon as it is loaded while others still load; then the keys left, the base
  // checksums (--check-base) and the large objects.
  absl::Status Load();

  // 3. Changes after the snapshot: what the fold left, applied as statements.
  absl::Status Changes();

  // 4. The rest of the schema, the sequences, and a durable commit.
  absl::Status PostData();

  const BaseRestoreResult& result() const { return result_; }

 private:
  void BeganWriting();

  // Before the schema's statements: the roles its privileges name must exist (refused
  // before any write), or are created (--create-roles), which is the first write.
  absl::Status StartWritingWithRoles();

  absl::Status CreateTableLevelSchema();

  // Every table is checked before the first is emptied.
  absl::Status EmptyExistingTables();

  // Keys are built on the loaded rows (faster than maintaining them row by row); changes
  // need them, so all are in place before the changes phase. The secondary index builds,
  // by table: when the whole change window folds into the load, each table is final once
  // loaded and its indexes are built right away.
  void PlanKeysAndIndexes();

  // The change window folded into the load where it can be (see ChangeFold): only when the
  // restore creates the schema, so no key, constraint or trigger sees the load's order. The
  // window is read on a thread of its own while the tables it does not change load.
  absl::Status StartFold();
  // Fills partitioned_ from the target (whose schema the restore created).
  absl::Status FindPartitioned();

  // Foreign keys added to empty tables before their rows load, when the load does not fire
  // them (superuser: session_replication_role = replica) and nothing is applied by
  // statements afterwards (the whole window folded; known before a changed table loads).
  absl::Status PlanEarlyForeignKeys();

  // Whether a table is final once loaded: one the window leaves alone is; the others are
  // when the whole window folded, known once the fold is built (so a table loaded before
  // that waits for it here).
  absl::StatusOr<bool> IndexesEarly(const TableLoadJob& job);

  // Runs on a loader thread once `job`'s rows are in.
  absl::Status BuildKeys(const TableLoadJob& job);

  absl::Status CheckBase();

  // The rest of the schema, once: before the first schema change of the window when there
  // is one (its statements name objects as the base has them, and a change may rename or
  // drop them), else after the changes. Index builds at once over the jobs (they depend
  // only on their table and each other's absence of conflicts: SHARE locks), then
  // everything else (foreign keys after the referenced keys, index attachments, triggers,
  // ...) in script order on one connection, foreign keys added NOT VALID; last, their
  // checks, the tables' at once.
  absl::Status RestOfSchema();

  // The base's sequences, then the free-standing ones from the agent's recordings
  // (PostgreSQL 15 does not stream sequences).
  absl::Status FreeStandingSequences();
  // Records the constraints of `keys` (just added NOT VALID) in deferred_checks_.
  absl::Status DeferChecks(const std::vector<ForeignKeyCheck>& keys);
  // Runs deferred_checks_ (see there).
  absl::Status DeferredChecks();

  sinks::ObjectStore* const store_;
  const sinks::StreamId& stream_;
  const BaseRestorePlan& plan_;
  const v1::BaseManifest& manifest_;
  const std::string& conninfo_;
  const BaseRestoreOptions& options_;
  const bool table_level_;

  BaseRestoreResult result_;
  agent::pg::Session* session_;                    // the restore's session on the target
  std::unique_ptr<agent::pg::PgConnection> conn_;  // its libpq connection, when Open() made it
  std::vector<const v1::BaseTable*> tables_;
  std::vector<TableLoadJob> work_;
  // Schema: set when the restore created the schema (its post-data part is run here).
  PostDataParts post_;
  bool run_post_data_ = false;
  TableLevelSchema table_schema_;
  // Load: keys by table, the rest of post-data, and which of them are built.
  std::vector<std::vector<ScriptStatement>> key_groups_;
  absl::flat_hash_map<std::string, size_t> key_group_of_table_;
  std::vector<ScriptStatement> rest_;
  absl::flat_hash_map<std::string, std::vector<size_t>> indexes_of_table_;
  absl::Mutex keys_mu_;
  std::vector<bool> keys_built_ ABSL_GUARDED_BY(keys_mu_);
  std::vector<bool> index_built_ ABSL_GUARDED_BY(keys_mu_);
  // The fold of the change window and the relations it changes (unknown for segments that
  // do not list them).
  std::unique_ptr<FoldRunner> folding_;
  std::optional<absl::flat_hash_set<RelationOid>> changed_;
  std::unique_ptr<EarlyForeignKeys> early_keys_;
  bool rest_of_schema_done_ = false;
  // Foreign key checks left for after the changes: tables the fold cut one by one are at
  // different moments of the stream until then.
  // Held as the constraints' oids: the window may rename or drop their tables.
  std::vector<std::string> deferred_checks_;
  // The target session runs as a replication worker (session_replication_role = replica).
  bool replica_role_ = false;
  // The SET of options_.toast_compression each loading session runs (empty: none).
  std::string toast_setting_;
  // Partitioned tables of the target ("schema.table" as the post-data script names them):
  // their keys cannot be added USING INDEX.
  absl::flat_hash_set<std::string> partitioned_;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_BASE_RESTORE_H_
