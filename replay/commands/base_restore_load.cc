// The load phase of a restore from a base: base rows by parallel COPY, the change window
// folded into them, keys and indexes built per table as soon as it is loaded.
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
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
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
#include "replay/load/table_digest.h"
#include "replay/plan/preflight.h"

namespace walship::replay {

absl::Status BaseRestore::Load() {
  PlanKeysAndIndexes();
  WALSHIP_RETURN_IF_ERROR(FindPartitioned());
  WALSHIP_RETURN_IF_ERROR(StartFold());
  WALSHIP_RETURN_IF_ERROR(PlanEarlyForeignKeys());
  LoadHooks hooks;
  if (early_keys_ != nullptr) {
    hooks.before_table = [this](const TableLoadJob& job) -> absl::Status {
      bool complete = false;
      if (folding_->Done()) {
        WALSHIP_ASSIGN_OR_RETURN(ChangeFold * fold, folding_->Wait());
        complete = fold->complete();
      }
      return early_keys_->BeforeLoad(DumpQualifiedName(job.target_schema, job.target_table),
                                     complete);
    };
    hooks.on_failure = [this] { early_keys_->Stop(); };
  }
  if (run_post_data_) {
    hooks.after_table = [this](const TableLoadJob& job) { return BuildKeys(job); };
  }
  // Split over several COPY streams only into tables without keys yet: with a unique
  // index, two streams inserting the same key (a corrupt base) would wait on each other's
  // open transaction.
  const uint64_t split_bytes =
      run_post_data_ ? options_.split_table_bytes : std::numeric_limits<uint64_t>::max();
  agent::pg::CopyInSessionFactory connect = agent::pg::SessionsTo(conninfo_);
  if (!toast_setting_.empty()) {
    connect = [sessions = std::move(connect),
               set =
                   toast_setting_]() -> absl::StatusOr<std::unique_ptr<agent::pg::CopyInSession>> {
      WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<agent::pg::CopyInSession> conn, sessions());
      WALSHIP_RETURN_IF_ERROR(conn->Exec(set, "setting the loading session's TOAST compression"));
      return conn;
    };
  }
  WALSHIP_ASSIGN_OR_RETURN(result_.tables, LoadBaseTables(store_, stream_, connect, work_,
                                                          options_.jobs, split_bytes, hooks));
  if (run_post_data_) {
    // The keys not matched to a loaded table (or of tables the script names otherwise).
    std::vector<std::vector<ScriptStatement>> rest_keys;
    for (size_t i = 0; i < key_groups_.size(); ++i) {
      if (!keys_built_[i]) rest_keys.push_back(key_groups_[i]);
    }
    WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo_, options_.jobs, rest_keys, "primary key"));
  }
  if (table_level_) {
    WALSHIP_RETURN_IF_ERROR(RunStatements(session_, table_schema_.keys, "table keys"));
  }
  if (options_.check_base) WALSHIP_RETURN_IF_ERROR(CheckBase());
  // The large objects as of the base (they are not in the change stream).
  if (!table_level_ && !manifest_.large_object_keys().empty()) {
    WALSHIP_ASSIGN_OR_RETURN(result_.large_objects,
                             RestoreLargeObjects(store_, stream_, manifest_, session_));
    LogInfo("restored %d large objects (%.1f MiB) as of the base's snapshot; later changes to "
            "large objects are not in the change stream",
            result_.large_objects, manifest_.large_object_bytes() / 1048576.0);
  }
  return absl::OkStatus();
}

void BaseRestore::PlanKeysAndIndexes() {
  if (run_post_data_) {
    key_groups_ = GroupByTable(WithSettings(post_.keys));
    for (size_t i = 0; i < key_groups_.size(); ++i) {
      key_group_of_table_[PostDataTable(key_groups_[i].front().sql)] = i;
    }
  }
  keys_built_.assign(key_groups_.size(), false);
  rest_ = WithSettings(post_.rest);
  index_built_.assign(rest_.size(), false);
  for (size_t i = 0; i < rest_.size(); ++i) {
    if (IsCreateIndex(rest_[i].sql)) indexes_of_table_[PostDataTable(rest_[i].sql)].push_back(i);
  }
  if (run_post_data_) {
    for (TableLoadJob& job : work_) job.created = true;
  }
}

absl::Status BaseRestore::FindPartitioned() {
  if (!run_post_data_) return absl::OkStatus();
  WALSHIP_ASSIGN_OR_RETURN(
      std::optional<std::string> names,
      session_->QueryValue("SELECT string_agg(n.nspname || E'\\t' || c.relname, E'\\n') "
                           "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE c.relkind = 'p'",
                           {}, "listing partitioned tables"));
  for (absl::string_view line : absl::StrSplit(names.value_or(""), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> name = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    partitioned_.insert(DumpQualifiedName(name.first, name.second));
  }
  return absl::OkStatus();
}

absl::Status BaseRestore::StartFold() {
  if (!run_post_data_ || table_level_ || options_.check_base ||
      options_.fold_memory_bytes == 0) {
    return absl::OkStatus();
  }
  FoldOptions fold_options;
  fold_options.memory_limit_bytes = options_.fold_memory_bytes;
  fold_options.per_table = replica_role_;
  folding_ = std::make_unique<FoldRunner>(store_, plan_.changes, manifest_, fold_options);
  changed_ = ChangedRelations(plan_.changes);
  for (TableLoadJob& job : work_) {
    RelationOid oid = proto::OidOf(job.table->relation());
    if (changed_ && !changed_->contains(oid)) continue;
    job.await_fold = [this, oid]() -> absl::StatusOr<FoldedTable*> {
      WALSHIP_ASSIGN_OR_RETURN(ChangeFold * fold, folding_->Wait());
      return fold->Table(oid);
    };
  }
  return absl::OkStatus();
}

absl::Status BaseRestore::PlanEarlyForeignKeys() {
  if (folding_ == nullptr) return absl::OkStatus();
  WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> superuser,
                           session_->QueryValue("SHOW is_superuser", {}, "checking the role"));
  if (superuser.value_or("") != "on") return absl::OkStatus();
  std::vector<EarlyForeignKeys::Candidate> candidates;
  for (size_t i = 0; i < rest_.size(); ++i) {
    std::optional<ForeignKeyCheck> key = SplitForeignKey(rest_[i].sql);
    if (!key) continue;
    candidates.push_back({rest_[i].sql, i, absl::AsciiStrToUpper(key->table),
                          absl::AsciiStrToUpper(key->referenced)});
  }
  early_keys_ = std::make_unique<EarlyForeignKeys>(
      std::move(candidates), [this](const EarlyForeignKeys::Candidate& candidate) {
        return RunGroups(conninfo_, 1, {{rest_[candidate.script_index]}}, "foreign key");
      });
  return absl::OkStatus();
}

absl::StatusOr<bool> BaseRestore::IndexesEarly(const TableLoadJob& job) {
  if (folding_ == nullptr) return false;
  const RelationOid oid = proto::OidOf(job.table->relation());
  if (changed_ && !changed_->contains(oid)) return true;
  WALSHIP_ASSIGN_OR_RETURN(ChangeFold * fold, folding_->Wait());
  return fold->TableFinal(oid);
}

absl::Status BaseRestore::BuildKeys(const TableLoadJob& job) {
  std::string table = DumpQualifiedName(job.target_schema, job.target_table);
  auto found = key_group_of_table_.find(table);
  const bool has_keys = found != key_group_of_table_.end();
  WALSHIP_ASSIGN_OR_RETURN(bool early, IndexesEarly(job));
  if (!early) {
    if (has_keys) {
      WALSHIP_RETURN_IF_ERROR(
          RunGroups(conninfo_, 1, {key_groups_[found->second]}, "primary key"));
      absl::MutexLock lock(&keys_mu_);
      keys_built_[found->second] = true;
    }
    if (early_keys_ != nullptr) early_keys_->Loaded(table, has_keys);
    return absl::OkStatus();
  }
  // The table is final: every index build at once (keys split from their constraints),
  // then the rest of its keys in script order.
  std::vector<std::vector<ScriptStatement>> builds;
  std::vector<ScriptStatement> after;
  if (has_keys) {
    for (const ScriptStatement& statement : key_groups_[found->second]) {
      std::optional<KeyIndexBuild> split;
      if (!partitioned_.contains(table)) split = SplitKeyBuild(statement.sql);
      if (split) {
        builds.push_back({ScriptStatement{statement.settings, split->create_index}});
        after.push_back(ScriptStatement{statement.settings, split->add_constraint});
      } else if (IsCreateIndex(statement.sql)) {
        builds.push_back({statement});
      } else {
        after.push_back(statement);
      }
    }
  }
  auto indexes = indexes_of_table_.find(table);
  if (indexes != indexes_of_table_.end()) {
    for (size_t i : indexes->second) builds.push_back({rest_[i]});
  }
  WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo_, options_.jobs, builds, "index"));
  if (!after.empty()) WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo_, 1, {after}, "primary key"));
  {
    absl::MutexLock lock(&keys_mu_);
    if (has_keys) keys_built_[found->second] = true;
    if (indexes != indexes_of_table_.end()) {
      for (size_t i : indexes->second) index_built_[i] = true;
    }
  }
  if (early_keys_ != nullptr) early_keys_->Loaded(table, has_keys);
  return absl::OkStatus();
}

absl::Status BaseRestore::CheckBase() {
  for (const TableLoadJob& job : work_) {
    std::string quoted = agent::pg::QuoteQualified(job.target_schema, job.target_table);
    WALSHIP_ASSIGN_OR_RETURN(std::string sum, TargetTableDigest(*session_, *job.table, quoted));
    const std::string expected = ExpectedTableDigest(*job.table);
    if (sum != expected) {
      return absl::DataLossError(absl::StrFormat(
          "table \"%s\" loaded from base %s has digest %s but the manifest \"%s\" says %s; "
          "the base is corrupt",
          DisplayName(job.table->relation()), plan_.base.snapshot_lsn().ToString(), sum,
          plan_.base.manifest_key, expected));
    }
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
