// Applies change events, in commit order, to a target database over one libpq connection
// opened with walship's pinned session settings, so the stream's text values are read back
// exactly as they were produced. Row statements (UPDATE, DELETE, INSERTs that do not go by
// COPY) are pipelined (see StatementPipeline); everything else runs after their results.
#ifndef WALSHIP_REPLAY_APPLY_APPLIER_H_
#define WALSHIP_REPLAY_APPLY_APPLIER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/statement_pipeline.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "replay/apply/ddl_applier.h"
#include "replay/apply/folded_table.h"
#include "replay/apply/target_tables.h"

namespace walship::replay {

// "at commit LSN 0/16B3748 (xid 1234, event 2)": where an event is, for messages.
std::string EventPlace(const v1::Event& event);

// Whether the table's rows are named by all their values (REPLICA IDENTITY FULL, or no key
// columns) rather than by a key.
bool IsFullIdentity(const v1::Relation& relation);

struct ApplierOptions {
  // Empty non-empty target tables on first sight instead of refusing.
  bool force = false;
  // Source transactions are grouped into one target transaction until it holds at least
  // this many events (a source transaction is never split).
  uint64_t batch_events = 10000;
  // The target's tables were filled from a base snapshot (see TargetTables::set_after_base).
  bool after_base = false;
  // Consecutive INSERTs into one table (no unchanged-TOAST values) are sent as one COPY of
  // up to this many rows; 0 sends each INSERT as a statement.
  uint64_t copy_batch_rows = 5000;
  // Apply "walship.ddl" messages at their place (see DdlApplier).
  bool apply_ddl = true;
  // The tables as the base snapshot left them: where each source oid is in the target.
  std::vector<v1::Relation> base_relations;
  // At most this many row statements are sent and not yet answered; 1 waits for each.
  uint64_t pipeline_depth = 1000;
  // Runs once before the first schema change is applied, with the target's batch committed
  // (it may use other connections).
  std::function<absl::Status()> before_schema_change;
  // Row changes of keyed tables are folded per target transaction and applied as sets
  // (see Applier::FlushSet) instead of one statement each. Only for a session that runs as
  // a replication worker (session_replication_role = replica): no foreign key fires, so
  // the tables' rows may change in any order within the transaction.
  bool fold_batches = false;
  // A table's folded batch is applied once it holds about this many bytes.
  uint64_t fold_batch_bytes = 64 << 20;
};

struct ApplierStats {
  uint64_t transactions = 0;     // source transactions with at least one applied event
  uint64_t events = 0;           // events applied (messages included)
  uint64_t duplicates = 0;       // events dropped because their position was not newer
  uint64_t set_events = 0;       // of `events`, row changes applied as sets (fold_batches)
  Lsn last_commit_lsn;  // position of the last applied event
  uint32_t last_sequence = 0;
  int64_t last_commit_time_us = 0;
  Lsn committed_commit_lsn;  // last source commit made durable in the target
};

// Usage: for each segment BeginSegment(), then DefineRelation() for each RelationDef and
// Apply() for each Event in record order; Finish() commits the open batch. After an error
// the open batch is left uncommitted (closing the connection rolls it back); earlier
// batches stay committed. The connection must outlive the applier. Not thread-safe.
//
// A row statement's result is read later than its Apply() returns: its failure (naming the
// event's position) comes from a later Apply() or Finish(), and is then returned by every
// later Apply() and Finish(). Stats count events as applied when sent; committed_commit_lsn only
// moves after every result of the batch was read and its COMMIT succeeded.
class Applier {
 public:
  Applier(agent::pg::PgConnection* conn, ApplierOptions options);

  void BeginSegment();
  absl::Status DefineRelation(const v1::Relation& relation);
  absl::Status Apply(const v1::Event& event);
  absl::Status Finish();

  const ApplierStats& stats() const { return stats_; }

 private:
  struct RelationState {
    v1::Relation relation;  // as the stream describes it, under its target name
    std::string serialized;
    bool defined_in_segment = false;
    bool prepared = false;  // target checked against this description
    std::string key_table;  // its temporary table of keys for the set path, once made
  };

  absl::StatusOr<const v1::Relation*> Resolve(const v1::Relation& reference,
                                              const v1::Event& event);
  absl::Status StartEvent(const v1::Event& event);
  absl::Status ApplyInsert(const v1::Relation& relation, const v1::Event& event);
  absl::Status ApplyUpdateOrDelete(const v1::Relation& relation, const v1::Event& event);
  absl::Status ApplyTruncate(const v1::Event& event);
  absl::Status ApplyDdl(const v1::Event& event);
  // Runs the statement a format-2 DDL message names, in a savepoint; false (the savepoint
  // rolled back, a warning logged) when it has none to run or the target refuses it.
  absl::StatusOr<bool> RunDdlStatement(const DdlMessage& message, const v1::Event& event);
  // Sends the pending COPY batch, if any.
  absl::Status FlushCopy();
  // COPY of `data` (COPY text lines) with `copy_sql`; errors name `what`.
  absl::Status CopyIn(const std::string& copy_sql, absl::string_view data, const std::string& what);
  // The set path (applier_sets.cc). Folds a row change of `relation` into its table's
  // batch; false when the event must go by statement (the table's batch applied first).
  absl::StatusOr<bool> FoldIntoSet(const v1::Relation& relation, const v1::Event& event);
  // Applies a table's folded batch: a DELETE of the rows its changes found in place
  // (their keys copied into a temporary table and joined, the count checked), then a COPY
  // of the final rows. Exact under session_replication_role = replica: the rows end as the
  // statements would leave them, and no constraint sees the order (unique ones hold for
  // every subset of the final rows).
  absl::Status FlushSet(RelationOid oid);
  absl::Status FlushSets();
  // BEGIN on the target, with deferrable constraints deferred to COMMIT.
  absl::Status BeginTargetTransaction();
  // Runs a control statement once every pipelined statement succeeded.
  absl::Status ExecControl(const char* sql);

  agent::pg::PgConnection* conn_;
  ApplierOptions options_;
  TargetTables tables_;
  DdlApplier ddl_;
  struct CopyBatch {
    RelationOid oid;
    std::string copy_sql;  // COPY table (columns) FROM STDIN
    std::string data;      // COPY text rows
    uint64_t rows = 0;
    std::string first;  // position of the first row, for errors
  };
  CopyBatch copy_;
  struct SetBatch {
    std::unique_ptr<FoldedTable> fold;
    uint64_t events = 0;
    std::string first;  // the first change's place, for errors
  };
  absl::flat_hash_map<RelationOid, SetBatch> sets_;
  uint64_t key_tables_ = 0;  // temporary key tables made (for their names)
  absl::flat_hash_map<RelationOid, std::unique_ptr<RelationState>> relations_;
  agent::pg::StatementPipeline pipeline_;
  ApplierStats stats_;
  bool in_batch_ = false;
  uint64_t batch_events_ = 0;
  Lsn current_commit_lsn_;
  // The batch ends with the current source transaction (after ALTER TYPE ... ADD VALUE,
  // whose new value the target accepts only once committed).
  bool end_batch_after_transaction_ = false;
  // The statements of the query string the last DDL message came from, and how far its
  // messages have used them: several statements in one string each send one message.
  struct DdlCursor {
    uint64_t commit_lsn = 0;
    std::string query;
    std::vector<std::string> statements;
    size_t next = 0;
  };
  DdlCursor ddl_cursor_;
  // Tables whose schema was renamed (ALTER SCHEMA ... RENAME TO): PostgreSQL sends no new
  // Relation message for them, so the stream goes on naming the old schema. Source oid ->
  // (the stream's "schema.table", the target's schema and table).
  struct Renamed {
    std::string stream_name;
    std::string schema;
    std::string table;
  };
  absl::flat_hash_map<RelationOid, Renamed> renamed_;
  // After a statement that may move tables without a Relation message: follows each known
  // relation's target table by its oid and renames the relation to where it now is.
  absl::Status FollowMovedTables(
      const absl::flat_hash_map<RelationOid, std::string>& target_oids);
  absl::StatusOr<absl::flat_hash_map<RelationOid, std::string>> TargetOidsOfRelations();
  // The target's ENABLE ALWAYS / ENABLE REPLICA triggers fire even under
  // session_replication_role = replica; their effects are in the stream already. While
  // changes apply they are disabled (QuietTriggers) and given back their mode before each
  // schema change and at the end (RestoreTriggers), so the catalog ends as the source's.
  struct QuietTrigger {
    std::string table_oid;
    std::string name;
    std::string mode;  // "ALWAYS" or "REPLICA"
  };
  std::vector<QuietTrigger> quiet_triggers_;
  bool quieting_triggers_ = false;
  absl::Status QuietTriggers();
  absl::Status RestoreTriggers();
  absl::StatusOr<std::string> TableByOid(const std::string& oid);
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_APPLIER_H_
