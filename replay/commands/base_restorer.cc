// A restore from a base: its phases run in order, and the session, pre-flight, changes
// and post-data phases.
#include "replay/commands/base_restorer.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "agent/pg/pg_connection.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "replay/apply/restore_statements.h"
#include "replay/apply/sequence_recordings.h"
#include "replay/apply/sql_script.h"
#include "replay/apply/table_level_schema.h"
#include "replay/apply/target_tables.h"
#include "replay/commands/base_restore.h"
#include "replay/load/change_fold.h"
#include "replay/load/early_foreign_keys.h"
#include "replay/load/fold_runner.h"
#include "replay/load/large_objects.h"
#include "replay/plan/preflight.h"

namespace walship::replay {

namespace {

// The restore's change statistics: the folded events, then the applied ones. The fold
// counted the transactions it read; `later` counts those the Applier applied past where
// the fold stopped reading (a transaction cut there counts once).
RestoreResult Combine(const ChangeFold* fold, const RestoreResult& applied, uint64_t later) {
  RestoreResult combined = applied;
  const ApplierStats& folded = fold->stats();
  ApplierStats& stats = combined.stats;
  stats.transactions = folded.transactions + later;
  stats.events += folded.events;
  if (applied.stats.events == 0 ||
      EventPosition{applied.stats.last_commit_lsn, applied.stats.last_sequence} <
          EventPosition{folded.last_commit_lsn, folded.last_sequence}) {
    stats.last_commit_lsn = folded.last_commit_lsn;
    stats.last_sequence = folded.last_sequence;
    stats.last_commit_time_us = folded.last_commit_time_us;
    stats.committed_commit_lsn = std::max(stats.committed_commit_lsn, folded.committed_commit_lsn);
  }
  combined.stopped_at_target = applied.stopped_at_target || fold->stopped_at_target();
  return combined;
}

}  // namespace

absl::StatusOr<BaseRestoreResult> BaseRestore::Run() {
  if (table_level_ && options_.tables.empty()) {
    return absl::InvalidArgumentError("--into-schema needs --tables (the tables to restore)");
  }
  absl::Time start = options_.clock->Now();
  WALSHIP_RETURN_IF_ERROR(Open());
  WALSHIP_RETURN_IF_ERROR(Preflight());
  WALSHIP_RETURN_IF_ERROR(Schema());
  absl::Time schema_done = options_.clock->Now();
  result_.schema_time = schema_done - start;
  WALSHIP_RETURN_IF_ERROR(Load());
  absl::Time copy_done = options_.clock->Now();
  result_.copy_time = copy_done - schema_done;
  WALSHIP_RETURN_IF_ERROR(Changes());
  absl::Time changes_done = options_.clock->Now();
  result_.change_time = changes_done - copy_done;
  WALSHIP_RETURN_IF_ERROR(PostData());
  result_.finish_time = options_.clock->Now() - changes_done;
  return std::move(result_);
}

absl::Status BaseRestore::Open() {
  if (session_ == nullptr) {
    WALSHIP_ASSIGN_OR_RETURN(conn_,
                             agent::pg::PgConnection::Connect(conninfo_, agent::pg::ConnectionKind::kNormal));
    session_ = conn_.get();
  }
  WALSHIP_RETURN_IF_ERROR(
      session_->Exec("SET synchronous_commit = off", "tuning the target session"));
  // Changes apply as a logical replication worker applies them: the source's cascades and
  // trigger effects are in the stream already, so the target's must not fire again (they
  // exist during the changes once a schema change brought the rest of the schema forward).
  if (!options_.toast_compression.empty()) {
    std::string set = absl::StrCat("SET default_toast_compression = ",
                                   agent::pg::QuoteLiteral(options_.toast_compression));
    absl::Status toast = session_->Exec(set);
    if (toast.ok()) {
      toast_setting_ = set;
    } else {
      LogWarning(
          "the target does not take default_toast_compression = %s (%s): values stored "
          "out of line are compressed with its own setting",
          options_.toast_compression, toast.message());
    }
  }
  absl::Status replica = session_->Exec("SET session_replication_role = replica");
  replica_role_ = replica.ok();
  if (!replica.ok()) {
    LogWarning(
        "cannot apply changes with session_replication_role = replica (%s): restore as a "
        "superuser, or a change window with schema changes may fire foreign key actions and "
        "triggers twice",
        replica.message());
  }
  WALSHIP_ASSIGN_OR_RETURN(tables_, SelectTables(manifest_, options_.tables));
  for (const v1::BaseTable* table : tables_) {
    TableLoadJob& job = work_.emplace_back();
    job.table = table;
    job.target_schema = table_level_ ? options_.into_schema : table->relation().schema();
    job.target_table = table->relation().table();
  }
  LogInfo("restoring from base %s (snapshot %s, %d tables, %d rows)",
          plan_.base.snapshot_lsn().ToString(), FormatUtcMicros(manifest_.snapshot_time_us()),
          work_.size(), plan_.base.row_count());
  return absl::OkStatus();
}

absl::Status BaseRestore::Preflight() {
  absl::Time checking = options_.clock->Now();
  WALSHIP_ASSIGN_OR_RETURN(
      PreflightStats checked,
      CheckObjects(store_, options_.cache,
                   ObjectsToRead(plan_, stream_, tables_, /*large_objects=*/!table_level_),
                   options_.jobs));
  LogInfo("pre-flight: %d objects (%.1f MiB%s) checked in %.2fs", checked.objects,
          checked.bytes / 1048576.0,
          options_.cache != nullptr
              ? absl::StrFormat(", %.1f MiB fetched into %s", checked.fetched / 1048576.0,
                                options_.cache->dir())
              : "",
          absl::ToDoubleSeconds(options_.clock->Now() - checking));
  return absl::OkStatus();
}

void BaseRestore::BeganWriting() {
  if (options_.began_writing != nullptr) *options_.began_writing = true;
}

absl::Status BaseRestore::Changes() {
  RestoreOptions restore_options;
  restore_options.applier.before_schema_change = [this] { return RestOfSchema(); };
  restore_options.applier.force = false;
  restore_options.applier.after_base = true;
  restore_options.applier.batch_events = options_.batch_events;
  restore_options.applier.fold_batches = replica_role_;
  if (!table_level_) {
    for (const v1::BaseTable& table : manifest_.tables()) {
      restore_options.applier.base_relations.push_back(table.relation());
    }
  }
  restore_options.progress_on_terminal = options_.progress_on_terminal;
  restore_options.clock = options_.clock;
  if (table_level_) {
    absl::flat_hash_set<RelationOid> oids;
    for (const TableLoadJob& job : work_) oids.insert(proto::OidOf(job.table->relation()));
    std::string schema = options_.into_schema;
    restore_options.filter = [oids, schema](v1::Record* record) {
      return KeepAndMove(oids, schema, record);
    };
  }
  if (conn_ == nullptr) {
    return absl::FailedPreconditionError("applying changes needs a libpq connection");
  }
  ChangeFold* fold = nullptr;
  // Transactions applied from where the fold stopped reading (see Combine).
  uint64_t later = 0;
  if (folding_ != nullptr) {
    WALSHIP_ASSIGN_OR_RETURN(fold, folding_->Wait());
    restore_options.start_at = fold->start_at();
    const RestorePlan& plan = plan_.changes;
    restore_options.folded = [fold, &plan, &later, last = Lsn()](const v1::Event& event) mutable {
      if (fold->Folded(event)) return true;
      const Lsn commit(event.commit_lsn());
      if (fold->all_cut() && !(commit < fold->all_cut()->commit_lsn) && last < commit &&
          !PastTarget(plan, commit, event.commit_time_us())) {
        ++later;
        last = commit;
      }
      return false;
    };
  }
  if (fold == nullptr || !fold->complete()) {
    WALSHIP_ASSIGN_OR_RETURN(result_.changes,
                             Restore(store_, plan_.changes, conn_.get(), restore_options));
  }
  if (fold != nullptr) {
    result_.changes = Combine(fold, result_.changes, later);
    result_.folded_events = fold->stats().events;
  }
  return absl::OkStatus();
}

absl::Status BaseRestore::PostData() {
  WALSHIP_RETURN_IF_ERROR(RestOfSchema());
  WALSHIP_RETURN_IF_ERROR(DeferredChecks());
  if (table_level_) {
    WALSHIP_RETURN_IF_ERROR(RunStatements(session_, table_schema_.rest,
                                          "table indexes and constraints"));
    WALSHIP_RETURN_IF_ERROR(SetOwnedSequences(session_, {}, options_.into_schema,
                                              &result_.sequences_set));
  } else {
    WALSHIP_RETURN_IF_ERROR(FreeStandingSequences());
  }
  // Everything above committed asynchronously; a synchronous commit of a transaction with
  // an id flushes the WAL up to it, so the whole restore is durable once this returns.
  const char* kDurable = "making the restore durable";
  WALSHIP_RETURN_IF_ERROR(session_->Exec("SET synchronous_commit = on", kDurable));
  WALSHIP_RETURN_IF_ERROR(session_->Exec("BEGIN", kDurable));
  WALSHIP_RETURN_IF_ERROR(session_->Exec("SELECT pg_catalog.txid_current()", kDurable));
  return session_->Exec("COMMIT", kDurable);
}

absl::Status BaseRestore::DeferredChecks() {
  for (const std::string& oid : deferred_checks_) {
    // As the constraint is named now; gone when a later schema change dropped it.
    WALSHIP_ASSIGN_OR_RETURN(
        std::optional<std::string> validate,
        session_->QueryValue("SELECT pg_catalog.format('ALTER TABLE %s VALIDATE CONSTRAINT %I', "
                             "c.conrelid::regclass, c.conname) FROM pg_catalog.pg_constraint c "
                             "WHERE c.oid = $1::oid AND NOT c.convalidated",
                             {oid}, "finding a foreign key to check"));
    if (validate) {
      WALSHIP_RETURN_IF_ERROR(RunStatements(session_, {*validate}, "foreign key"));
    }
  }
  deferred_checks_.clear();
  return absl::OkStatus();
}

absl::Status BaseRestore::FreeStandingSequences() {
  WALSHIP_RETURN_IF_ERROR(SetSequences(session_, manifest_, &result_.sequences_set));
  Lsn restored = std::max(result_.changes.stats.last_commit_lsn, plan_.base.snapshot_lsn());
  WALSHIP_ASSIGN_OR_RETURN(std::optional<SequenceRecordingAt> recording,
                           FindSequenceRecording(store_, plan_.stream_segments, restored));
  if (recording.has_value()) {
    return ApplySequenceRecording(session_, *recording, options_.sequence_margin,
                                  &result_.sequences_set);
  }
  if (std::any_of(manifest_.sequences().begin(), manifest_.sequences().end(),
                  [](const v1::SequenceValue& s) { return s.owned_by_table().empty(); })) {
    LogInfo("the stream holds no sequence recordings: free-standing sequences keep their "
            "base values");
  }
  return absl::OkStatus();
}

absl::StatusOr<BaseRestoreResult> RestoreFromBase(sinks::ObjectStore* store,
                                                  const sinks::StreamId& stream,
                                                  const BaseRestorePlan& plan,
                                                  const std::string& conninfo,
                                                  const BaseRestoreOptions& options) {
  return BaseRestore(store, stream, plan, conninfo, options).Run();
}

}  // namespace walship::replay
