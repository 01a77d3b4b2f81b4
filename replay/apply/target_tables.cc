// Target table checks and column sync.
#include "replay/apply/target_tables.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"

namespace walship::replay {

std::string DisplayName(const v1::Relation& relation) {
  return absl::StrCat(relation.schema(), ".", relation.table());
}

absl::Status TargetTables::Prepare(const v1::Relation& relation) {
  std::string name = DisplayName(relation);
  auto it = tables_.find(name);
  if (it == tables_.end()) {
    TableState state;
    WALSHIP_RETURN_IF_ERROR(CheckNew(relation, &state));
    it = tables_.emplace(name, std::move(state)).first;
  }
  return AddMissingColumns(relation, &it->second);
}

absl::Status TargetTables::CheckNew(const v1::Relation& relation, TableState* state) {
  std::string name = DisplayName(relation);
  std::string quoted = agent::pg::QuoteQualified(relation.schema(), relation.table());
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult found,
      conn_->Query("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                   {relation.schema(), relation.table()},
                   absl::StrFormat("looking up table \"%s\" in the target", name)));
  if ((found.rows.empty() || !found.rows[0][0]) && after_base_) {
    LogWarning(
        "table \"%s\" is not in the target (created at the source after the base, without a "
        "walship.ddl message): creating it from the stream's description",
        name);
    WALSHIP_RETURN_IF_ERROR(CreateFromRelation(relation, relation.schema()));
    return CheckNew(relation, state);
  }
  if (found.rows.empty() || !found.rows[0][0]) {
    return absl::FailedPreconditionError(
        absl::StrFormat("table \"%s\" does not exist in the target: create the schema first "
                        "(pg_dump --schema-only ... | psql ...)",
                        name));
  }
  if (!absl::SimpleAtoi(*found.rows[0][0], &state->target_oid)) {
    return absl::InternalError(absl::StrFormat("unexpected oid for table \"%s\"", name));
  }
  WALSHIP_ASSIGN_OR_RETURN(
      std::optional<std::string> has_rows,
      conn_->QueryValue(absl::StrCat("SELECT EXISTS (SELECT 1 FROM ", quoted, ")"), {},
                        absl::StrFormat("checking that table \"%s\" is empty", name)));
  if (has_rows && *has_rows == "t" && !after_base_) {
    if (!force_) {
      WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> count,
                               conn_->QueryValue(absl::StrCat("SELECT count(*) FROM ", quoted), {},
                                                 absl::StrFormat("counting rows of \"%s\"", name)));
      return absl::FailedPreconditionError(absl::StrFormat(
          "table \"%s\" in the target is not empty (%s rows); use an empty database or --force",
          name, count.value_or("?")));
    }
    LogWarning("emptying table \"%s\" in the target (--force)", name);
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("TRUNCATE ONLY ", quoted),
                                        absl::StrFormat("emptying table \"%s\"", name)));
  }
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult columns,
      conn_->Query("SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 "
                   "AND NOT attisdropped AND attgenerated = ''",
                   {absl::StrCat(state->target_oid)},
                   absl::StrFormat("reading the columns of \"%s\"", name)));
  for (const auto& row : columns.rows) {
    if (row[0]) state->columns.insert(*row[0]);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TargetTables::TypeText(const v1::Column& column) {
  if (column.type_oid() < 10000) {
    WALSHIP_ASSIGN_OR_RETURN(
        std::optional<std::string> text,
        conn_->QueryValue("SELECT format_type($1::oid, $2::int)",
                          {absl::StrCat(column.type_oid()), absl::StrCat(column.type_modifier())},
                          absl::StrFormat("naming the type of column \"%s\"", column.name())));
    if (text) return *text;
  }
  // Schema-qualified name of a user-defined type: quote each part.
  const std::string& type = column.type_name();
  size_t dot = type.find('.');
  if (dot == std::string::npos) return agent::pg::QuoteIdent(type);
  return agent::pg::QuoteQualified(type.substr(0, dot), type.substr(dot + 1));
}

absl::Status TargetTables::CreateFromRelation(const v1::Relation& relation,
                                              const std::string& schema) {
  std::vector<std::string> columns;
  std::vector<std::string> keys;
  for (const v1::Column& column : relation.columns()) {
    WALSHIP_ASSIGN_OR_RETURN(std::string type, TypeText(column));
    columns.push_back(absl::StrCat(agent::pg::QuoteIdent(column.name()), " ", type));
    if (column.key()) keys.push_back(agent::pg::QuoteIdent(column.name()));
  }
  if (!keys.empty() && relation.replica_identity() != v1::REPLICA_IDENTITY_FULL) {
    columns.push_back(absl::StrCat("PRIMARY KEY (", absl::StrJoin(keys, ", "), ")"));
  }
  std::string quoted = agent::pg::QuoteQualified(schema, relation.table());
  std::string sql = absl::StrCat("CREATE TABLE ", quoted, " (", absl::StrJoin(columns, ", "), ")");
  if (relation.replica_identity() == v1::REPLICA_IDENTITY_FULL) {
    absl::StrAppend(&sql, "; ALTER TABLE ", quoted, " REPLICA IDENTITY FULL");
  }
  return conn_->Exec(sql, absl::StrFormat("creating table \"%s.%s\" in the target", schema,
                                          relation.table()));
}

absl::Status TargetTables::AddMissingColumns(const v1::Relation& relation, TableState* state) {
  std::string name = DisplayName(relation);
  std::set<std::string> wanted;
  for (const v1::Column& column : relation.columns()) {
    wanted.insert(column.name());
    if (state->columns.count(column.name())) continue;
    WALSHIP_ASSIGN_OR_RETURN(std::string type, TypeText(column));
    LogWarning("table \"%s\": adding column \"%s\" %s, which the stream's description has", name,
               column.name(), type);
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(
        absl::StrCat("ALTER TABLE ", agent::pg::QuoteQualified(relation.schema(), relation.table()),
                     " ADD COLUMN ", agent::pg::QuoteIdent(column.name()), " ", type),
        absl::StrFormat("adding column \"%s\" to \"%s\"", column.name(), name)));
    state->columns.insert(column.name());
  }
  for (const std::string& column : state->columns) {
    if (wanted.count(column) || state->warned.count(column)) continue;
    state->warned.insert(column);
    LogWarning(
        "table \"%s\": the target has column \"%s\", which the stream no longer has; "
        "left in place",
        name, column);
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
