// The applier's schema-change side: DDL messages applied at their place in the stream (the
// statement itself where it can run, else the tables brought to their description), the
// triggers quieted around them, and tables followed when their schema moved.
#include "replay/apply/applier.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "agent/pg/copy.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/log.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "replay/apply/sql_script.h"

namespace walship::replay {

absl::Status Applier::ApplyDdl(const v1::Event& event) {
  WALSHIP_RETURN_IF_ERROR(pipeline_.Drain());
  if (options_.before_schema_change) {
    auto hook = std::move(options_.before_schema_change);
    options_.before_schema_change = nullptr;
    WALSHIP_RETURN_IF_ERROR(ExecControl("COMMIT"));
    WALSHIP_RETURN_IF_ERROR(hook());
    WALSHIP_RETURN_IF_ERROR(BeginTargetTransaction());
    quieting_triggers_ = true;
  }
  // The schema change sees the triggers as the source had them.
  WALSHIP_RETURN_IF_ERROR(RestoreTriggers());
  absl::StatusOr<DdlMessage> message = ParseDdlMessage(event.message().content());
  if (!message.ok()) return Annotate(message.status(), EventPlace(event));
  std::string where = absl::StrFormat("%s \"%s\" %s", message->tag, message->query, EventPlace(event));
  absl::StatusOr<bool> ran = RunDdlStatement(*message, event);
  if (!ran.ok()) return Annotate(ran.status(), where);
  absl::StatusOr<std::vector<std::string>> changed =
      *ran ? ddl_.Remember(*message) : ddl_.Apply(*message);
  if (!changed.ok()) return Annotate(changed.status(), where);
  // The target's tables changed behind the cached checks: check again on next use.
  for (const std::string& name : *changed) tables_.Forget(name);
  if (*ran) tables_.ForgetAll();
  for (auto& [oid, state] : relations_) state->prepared = false;
  pipeline_.ForgetPrepared();
  if (message->tag == "ALTER TYPE") end_batch_after_transaction_ = true;
  return QuietTriggers();
}

absl::StatusOr<std::string> Applier::TableByOid(const std::string& oid) {
  // regclass output: the current name, quoted and schema-qualified as this session needs.
  WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> name,
                           conn_->QueryValue("SELECT $1::oid::regclass::text", {oid},
                                             "naming a table of the target"));
  if (!name) return absl::InternalError(absl::StrCat("table oid ", oid, " has no name"));
  return *name;
}

absl::Status Applier::QuietTriggers() {
  if (!quieting_triggers_) return absl::OkStatus();
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult found,
      conn_->Query("SELECT t.tgrelid::text, t.tgname, t.tgenabled::text FROM "
                   "pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
                   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE NOT t.tgisinternal AND t.tgenabled IN ('A', 'R') "
                   "AND n.nspname <> 'walship'",
                   {}, "listing the target's ALWAYS and REPLICA triggers"));
  for (const auto& row : found.rows) {
    if (!row[0] || !row[1] || !row[2]) continue;
    QuietTrigger trigger{*row[0], *row[1], *row[2] == "A" ? "ALWAYS" : "REPLICA"};
    WALSHIP_ASSIGN_OR_RETURN(std::string table, TableByOid(trigger.table_oid));
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(
        absl::StrCat("ALTER TABLE ", table, " DISABLE TRIGGER ",
                     agent::pg::QuoteIdent(trigger.name)),
        "disabling a trigger while changes apply"));
    quiet_triggers_.push_back(std::move(trigger));
  }
  return absl::OkStatus();
}

absl::Status Applier::RestoreTriggers() {
  for (const QuietTrigger& trigger : quiet_triggers_) {
    WALSHIP_ASSIGN_OR_RETURN(std::string table, TableByOid(trigger.table_oid));
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(
        absl::StrCat("ALTER TABLE ", table, " ENABLE ", trigger.mode,
                     " TRIGGER ", agent::pg::QuoteIdent(trigger.name)),
        "enabling a trigger again"));
  }
  quiet_triggers_.clear();
  return absl::OkStatus();
}

absl::StatusOr<bool> Applier::RunDdlStatement(const DdlMessage& message, const v1::Event& event) {
  if (message.format < 2) return false;
  // Rows written by CREATE TABLE AS / SELECT INTO arrive as INSERTs: create the table from
  // its description instead of running the query again.
  if (message.tag == "CREATE TABLE AS" || message.tag == "SELECT INTO") return false;
  if (ddl_cursor_.commit_lsn != event.commit_lsn() || ddl_cursor_.query != message.query) {
    ddl_cursor_.commit_lsn = event.commit_lsn();
    ddl_cursor_.query = message.query;
    ddl_cursor_.statements = SplitSqlScript(message.query);
    ddl_cursor_.next = 0;
  }
  std::optional<std::string> statement;
  for (size_t i = ddl_cursor_.next; i < ddl_cursor_.statements.size(); ++i) {
    if (StatementHasTag(ddl_cursor_.statements[i], message.tag)) {
      statement = ddl_cursor_.statements[i];
      ddl_cursor_.next = i + 1;
      break;
    }
  }
  if (!statement) {
    LogWarning("DDL %s: no %s statement found in the query string \"%s\"; following the "
               "recorded table descriptions instead",
               EventPlace(event), message.tag, agent::pg::FirstLine(message.query));
    return false;
  }
  std::string sql = RunnableInTransaction(*statement);
  absl::flat_hash_map<RelationOid, std::string> target_oids;
  bool may_move = message.tag == "ALTER SCHEMA";
  if (may_move) {
    WALSHIP_ASSIGN_OR_RETURN(target_oids, TargetOidsOfRelations());
  }
  WALSHIP_RETURN_IF_ERROR(conn_->Exec("SAVEPOINT walship_ddl", "starting a DDL savepoint"));
  absl::Status ran = absl::OkStatus();
  if (!message.search_path.empty()) {
    ran = conn_->Query("SELECT pg_catalog.set_config('search_path', $1, true)",
                       {message.search_path}, "setting the DDL's search_path")
              .status();
  }
  if (ran.ok()) ran = conn_->Exec(sql, absl::StrCat("running ", agent::pg::FirstLine(sql)));
  if (!message.search_path.empty()) {
    // The applier's own statements name their tables fully; this only tidies the session.
    absl::Status reset = conn_->Exec("SET LOCAL search_path TO DEFAULT", "resetting search_path");
    if (ran.ok()) ran = reset;
  }
  if (ran.ok()) {
    WALSHIP_RETURN_IF_ERROR(conn_->Exec("RELEASE SAVEPOINT walship_ddl", "ending a DDL savepoint"));
    if (may_move) WALSHIP_RETURN_IF_ERROR(FollowMovedTables(target_oids));
    return true;
  }
  WALSHIP_RETURN_IF_ERROR(
      conn_->Exec("ROLLBACK TO SAVEPOINT walship_ddl", "rolling back a refused DDL statement"));
  WALSHIP_RETURN_IF_ERROR(conn_->Exec("RELEASE SAVEPOINT walship_ddl", "ending a DDL savepoint"));
  LogWarning("DDL %s: the target refused \"%s\" (%s); following the recorded table "
             "descriptions instead",
             EventPlace(event), agent::pg::FirstLine(sql), ran.message());
  return false;
}

absl::StatusOr<absl::flat_hash_map<RelationOid, std::string>> Applier::TargetOidsOfRelations() {
  // Every table the restore knows: described by the stream, or by the base and DDL.
  absl::flat_hash_map<RelationOid, std::pair<std::string, std::string>> known = ddl_.names();
  for (const auto& [oid, state] : relations_) {
    known[oid] = {state->relation.schema(), state->relation.table()};
  }
  absl::flat_hash_map<RelationOid, std::string> oids;
  for (const auto& [oid, name] : known) {
    WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> target,
                             conn_->QueryValue("SELECT to_regclass($1)::oid::text",
                                               {agent::pg::QuoteQualified(name.first, name.second)},
                                               "looking up a table in the target"));
    if (target) oids[oid] = *target;
  }
  return oids;
}

absl::Status Applier::FollowMovedTables(
    const absl::flat_hash_map<RelationOid, std::string>& target_oids) {
  for (const auto& [oid, target_oid] : target_oids) {
    auto it = relations_.find(oid);
    v1::Relation base_only;
    if (it == relations_.end()) {
      // Not described by the stream yet: its first Relation message may name the old schema.
      auto named = ddl_.names().find(oid);
      if (named == ddl_.names().end()) continue;
      base_only.set_schema(named->second.first);
      base_only.set_table(named->second.second);
    }
    v1::Relation& relation = it != relations_.end() ? it->second->relation : base_only;
    WALSHIP_ASSIGN_OR_RETURN(
        agent::pg::QueryResult now,
        conn_->Query("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN "
                     "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid",
                     {target_oid}, "following a table in the target"));
    if (now.rows.empty() || !now.rows[0][0] || !now.rows[0][1]) continue;
    if (*now.rows[0][0] == relation.schema() && *now.rows[0][1] == relation.table()) continue;
    std::string stream_name = DisplayName(relation);
    if (auto known = renamed_.find(oid); known != renamed_.end()) {
      stream_name = known->second.stream_name;
    }
    LogInfo("table \"%s\" is now \"%s.%s\" in the target (its schema was renamed)",
            DisplayName(relation), *now.rows[0][0], *now.rows[0][1]);
    tables_.Forget(DisplayName(relation));
    relation.set_schema(*now.rows[0][0]);
    relation.set_table(*now.rows[0][1]);
    if (it != relations_.end()) it->second->prepared = false;
    ddl_.Seed(oid, relation.schema(), relation.table());
    renamed_[oid] = Renamed{stream_name, relation.schema(), relation.table()};
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
