// The schema phase of a restore from a base: the chosen tables in a new schema, the whole
// pre-data schema into an empty target, or the existing tables checked and emptied; and
// the rest of the post-data schema, once.
#include "replay/commands/base_restore.h"

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
#include "absl/synchronization/mutex.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "agent/pg/pg_connection.h"
#include "replay/load/change_fold.h"
#include "replay/load/early_foreign_keys.h"
#include "replay/load/fold_runner.h"
#include "replay/load/large_objects.h"
#include "replay/plan/preflight.h"
#include "replay/apply/restore_statements.h"
#include "replay/commands/base_restore.h"
#include "replay/apply/sequence_recordings.h"
#include "replay/apply/sql_script.h"
#include "replay/apply/table_level_schema.h"
#include "replay/apply/target_tables.h"

namespace walship::replay {

absl::Status BaseRestore::StartWritingWithRoles() {
  WALSHIP_ASSIGN_OR_RETURN(std::vector<const v1::BaseRole*> missing_roles,
                           MissingRoles(session_, manifest_));
  if (!options_.create_roles) {
    WALSHIP_RETURN_IF_ERROR(ProvideRoles(session_, missing_roles, false));
  }
  BeganWriting();
  return ProvideRoles(session_, missing_roles, options_.create_roles);
}

absl::Status BaseRestore::Schema() {
  post_ = SplitPostData(manifest_.post_data_sql());
  if (table_level_) return CreateTableLevelSchema();
  std::vector<std::string> existing, missing;
  for (const TableLoadJob& job : work_) {
    WALSHIP_ASSIGN_OR_RETURN(bool exists,
                             TableExists(session_, job.target_schema, job.target_table));
    (exists ? existing : missing)
        .push_back(absl::StrCat(job.target_schema, ".", job.target_table));
  }
  if (!existing.empty() && !missing.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the target has some of the base's tables (%s) but not others (%s); restore into an "
        "empty database or one with the whole schema",
        absl::StrJoin(existing, ", "), absl::StrJoin(missing, ", ")));
  }
  if (!existing.empty()) return EmptyExistingTables();
  WALSHIP_RETURN_IF_ERROR(CheckTargetIsEmpty(session_));
  WALSHIP_RETURN_IF_ERROR(
      CheckExtensionsAvailable(session_, ExtensionsCreatedBy(manifest_.pre_data_sql())));
  WALSHIP_RETURN_IF_ERROR(StartWritingWithRoles());
  WALSHIP_RETURN_IF_ERROR(
      RunStatements(session_, SplitSqlScript(manifest_.pre_data_sql()), "pre-data schema"));
  // pg_dump empties search_path; DDL messages name types as the source's session saw
  // them (unqualified for public), so changes run under the default search_path.
  WALSHIP_RETURN_IF_ERROR(session_->Exec("RESET search_path", "resetting search_path"));
  run_post_data_ = true;
  return absl::OkStatus();
}

absl::Status BaseRestore::CreateTableLevelSchema() {
  for (const TableLoadJob& job : work_) {
    WALSHIP_ASSIGN_OR_RETURN(bool exists,
                             TableExists(session_, job.target_schema, job.target_table));
    if (exists) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "table \"%s.%s\" already exists in the target; choose another --into-schema",
          job.target_schema, job.target_table));
    }
  }
  WALSHIP_RETURN_IF_ERROR(StartWritingWithRoles());
  WALSHIP_RETURN_IF_ERROR(session_->Exec(
      absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", agent::pg::QuoteIdent(options_.into_schema)),
      absl::StrFormat("creating schema \"%s\"", options_.into_schema)));
  // The tables as the base defines them (sequences, defaults, identity, comments, keys,
  // indexes, constraints, triggers), moved into the new schema.
  std::vector<QualifiedName> chosen, all_tables;
  for (const TableLoadJob& job : work_) {
    chosen.push_back({job.table->relation().schema(), job.table->relation().table()});
  }
  for (const v1::BaseTable& table : manifest_.tables()) {
    all_tables.push_back({table.relation().schema(), table.relation().table()});
  }
  absl::flat_hash_map<std::string, std::string> quoted_names;
  absl::Status quote_failed = absl::OkStatus();
  auto quote = [&](const std::string& name) -> std::string {
    auto it = quoted_names.find(name);
    if (it != quoted_names.end()) return it->second;
    absl::StatusOr<std::optional<std::string>> quoted =
        session_->QueryValue("SELECT quote_ident($1)", {name}, "quoting a name");
    if (!quoted.ok()) quote_failed.Update(quoted.status());
    std::string result = quoted.ok() ? quoted->value_or(name) : name;
    quoted_names[name] = result;
    return result;
  };
  table_schema_ = BuildTableLevelSchema(manifest_.pre_data_sql(), manifest_.post_data_sql(),
                                        chosen, all_tables, options_.into_schema, quote);
  WALSHIP_RETURN_IF_ERROR(quote_failed);
  for (const std::string& statement : table_schema_.skipped) {
    LogWarning("skipped (it names a table outside --tables): %s",
               absl::StrReplaceAll(statement, {{"\n", " "}, {"    ", ""}}));
  }
  WALSHIP_RETURN_IF_ERROR(RunStatements(session_, table_schema_.create, "table schema"));
  return session_->Exec("RESET search_path", "resetting search_path");
}

absl::Status BaseRestore::EmptyExistingTables() {
  std::vector<std::string> to_empty;
  for (const TableLoadJob& job : work_) {
    std::string quoted = agent::pg::QuoteQualified(job.target_schema, job.target_table);
    WALSHIP_ASSIGN_OR_RETURN(
        std::optional<std::string> has_rows,
        session_->QueryValue(absl::StrCat("SELECT EXISTS (SELECT 1 FROM ", quoted, ")"), {},
                          absl::StrFormat("checking that \"%s\" is empty", quoted)));
    if (has_rows && *has_rows == "t") {
      if (!options_.force) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "table \"%s.%s\" in the target is not empty; use an empty database or --force "
            "(which empties it)",
            job.target_schema, job.target_table));
      }
      LogWarning("emptying table \"%s.%s\" in the target (--force)", job.target_schema,
                 job.target_table);
      to_empty.push_back(quoted);
    }
  }
  BeganWriting();
  for (const std::string& quoted : to_empty) {
    WALSHIP_RETURN_IF_ERROR(session_->Exec(absl::StrCat("TRUNCATE ONLY ", quoted, " CASCADE"),
                                        absl::StrFormat("emptying \"%s\"", quoted)));
  }
  LogInfo("the target already has the schema: base schema statements are not run");
  return absl::OkStatus();
}

absl::Status BaseRestore::DeferChecks(const std::vector<ForeignKeyCheck>& keys) {
  for (const ForeignKeyCheck& key : keys) {
    WALSHIP_ASSIGN_OR_RETURN(
        std::optional<std::string> oid,
        session_->QueryValue("SELECT c.oid::text FROM pg_catalog.pg_constraint c "
                             "WHERE c.conrelid = pg_catalog.to_regclass($1) "
                             "AND pg_catalog.quote_ident(c.conname) = $2",
                             {key.table, key.constraint}, "finding a foreign key to check later"));
    if (!oid) {
      return absl::InternalError(
          absl::StrFormat("no constraint %s on %s to check after the changes (just added as "
                          "\"%s\")",
                          key.constraint, key.table, key.add_not_valid));
    }
    deferred_checks_.push_back(*oid);
  }
  return absl::OkStatus();
}

absl::Status BaseRestore::RestOfSchema() {
  if (!run_post_data_ || rest_of_schema_done_) return absl::OkStatus();
  rest_of_schema_done_ = true;
  std::vector<std::vector<ScriptStatement>> indexes;
  std::vector<std::string> others;
  for (size_t i = 0; i < rest_.size(); ++i) {
    if (IsCreateIndex(rest_[i].sql) && !index_built_[i]) indexes.push_back({rest_[i]});
  }
  WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo_, options_.jobs, indexes, "post-data schema"));
  std::vector<std::vector<ScriptStatement>> checks;
  std::vector<ForeignKeyCheck> keys;  // the same, for DeferChecks
  std::map<std::string, size_t> checks_of_table;
  for (const std::string& statement : post_.rest) {
    if (IsCreateIndex(statement)) continue;
    std::optional<ForeignKeyCheck> foreign_key = SplitForeignKey(statement);
    if (!foreign_key) {
      others.push_back(statement);
      continue;
    }
    if (early_keys_ != nullptr && early_keys_->Added(statement)) {
      ++result_.foreign_keys_added_early;
      continue;
    }
    others.push_back(foreign_key->add_not_valid);
    auto [it, added] = checks_of_table.emplace(foreign_key->table, checks.size());
    if (added) checks.emplace_back();
    checks[it->second].push_back(ScriptStatement{"", foreign_key->validate});
    keys.push_back(*std::move(foreign_key));
  }
  if (result_.foreign_keys_added_early > 0) {
    LogInfo(
        "%d foreign keys were added before their tables loaded the source's rows (not "
        "checked again)",
        result_.foreign_keys_added_early);
  }
  WALSHIP_RETURN_IF_ERROR(RunStatements(session_, others, "post-data schema"));
  if (folding_ != nullptr) {
    WALSHIP_ASSIGN_OR_RETURN(ChangeFold * fold, folding_->Wait());
    if (fold->cuts_tables()) return DeferChecks(keys);
  }
  return RunGroups(conninfo_, options_.jobs, checks, "foreign key");
}

}  // namespace walship::replay
