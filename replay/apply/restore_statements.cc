#include "replay/apply/restore_statements.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "agent/pg/copy.h"
#include "replay/apply/sql_script.h"
#include "replay/apply/target_tables.h"

namespace walship::replay {

absl::Status RunStatements(agent::pg::Session* conn, const std::vector<std::string>& statements,
                           absl::string_view part) {
  for (const std::string& statement : statements) {
    WALSHIP_RETURN_IF_ERROR(conn->Exec(
        statement, absl::StrFormat("running %s statement \"%s\"", part, agent::pg::FirstLine(statement))));
  }
  return absl::OkStatus();
}


std::vector<ScriptStatement> WithSettings(const std::vector<std::string>& statements) {
  std::vector<ScriptStatement> out;
  std::string settings;
  for (const std::string& statement : statements) {
    if (IsSessionSetting(statement)) {
      absl::StrAppend(&settings, settings.empty() ? "" : ";\n", statement);
      continue;
    }
    out.push_back(ScriptStatement{settings, statement});
  }
  return out;
}

// Runs `groups` on up to `jobs` connections to `conninfo`: the statements of one group in
// order on one connection, groups at once. The connections build indexes with a generous
// maintenance_work_mem and commit asynchronously (the restore ends with a durable commit).
// Several builds at once get no parallel workers each: the connections already use the
// cores, and extra worker processes only contend for them. Groups start in order. The
// first error stops the rest.
absl::Status RunGroups(const std::string& conninfo, int jobs,
                       const std::vector<std::vector<ScriptStatement>>& groups,
                       absl::string_view part) {
  if (groups.empty()) return absl::OkStatus();
  int threads = std::max(1, std::min<int>(jobs, static_cast<int>(groups.size())));
  const std::string tuning =
      absl::StrCat("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'",
                   threads > 1 ? "; SET max_parallel_maintenance_workers = 0" : "");
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  absl::Status first_error;
  auto worker = [&] {
    absl::StatusOr<std::unique_ptr<agent::pg::PgConnection>> conn =
        agent::pg::PgConnection::Connect(conninfo, agent::pg::ConnectionKind::kNormal);
    absl::Status status = conn.status();
    if (status.ok()) status = (*conn)->Exec(tuning, "tuning the schema session");
    std::string applied;
    while (status.ok() && !failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= groups.size()) break;
      for (const ScriptStatement& statement : groups[i]) {
        if (statement.settings != applied) {
          status = (*conn)->Exec(absl::StrCat("RESET ALL;\n", statement.settings, ";\n", tuning),
                                 absl::StrFormat("applying the settings of %s statement \"%s\"",
                                                 part, agent::pg::FirstLine(statement.sql)));
          if (!status.ok()) break;
          applied = statement.settings;
        }
        status = (*conn)->Exec(statement.sql, absl::StrFormat("running %s statement \"%s\"", part,
                                                              agent::pg::FirstLine(statement.sql)));
        if (!status.ok()) break;
      }
    }
    if (!status.ok()) {
      absl::MutexLock lock(&mu);
      if (first_error.ok()) first_error = status;
      failed.store(true);
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (std::thread& thread : pool) thread.join();
  return first_error;
}

// Keys (and replica identities): the statements of one table in script order, tables at
// once.
std::vector<std::vector<ScriptStatement>> GroupByTable(
    const std::vector<ScriptStatement>& statements) {
  std::vector<std::vector<ScriptStatement>> groups;
  std::map<std::string, size_t> by_table;
  for (const ScriptStatement& statement : statements) {
    std::string table = PostDataTable(statement.sql);
    auto [it, added] = by_table.emplace(table, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(statement);
  }
  return groups;
}

// An identifier as pg_dump writes it: bare when it is a plain lower-case name, else quoted.
// Upper-cased like PostDataTable's result.
std::string DumpName(const std::string& ident) {
  bool plain = !ident.empty() && !std::isdigit(static_cast<unsigned char>(ident[0]));
  for (char c : ident) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      plain = false;
    }
  }
  return absl::AsciiStrToUpper(plain ? ident : agent::pg::QuoteIdent(ident));
}

std::string DumpQualifiedName(const std::string& schema, const std::string& table) {
  return absl::StrCat(DumpName(schema), ".", DumpName(table));
}

// The manifest tables the restore covers.
absl::StatusOr<std::vector<const v1::BaseTable*>> SelectTables(
    const v1::BaseManifest& manifest, const std::vector<std::string>& names) {
  std::vector<const v1::BaseTable*> selected;
  if (names.empty()) {
    for (const v1::BaseTable& table : manifest.tables()) selected.push_back(&table);
    return selected;
  }
  for (const std::string& name : names) {
    std::string qualified =
        name.find('.') == std::string::npos ? absl::StrCat("public.", name) : name;
    const v1::BaseTable* found = nullptr;
    for (const v1::BaseTable& table : manifest.tables()) {
      if (DisplayName(table.relation()) == qualified) found = &table;
    }
    if (found == nullptr) {
      std::vector<std::string> available;
      for (const v1::BaseTable& table : manifest.tables()) {
        available.push_back(DisplayName(table.relation()));
      }
      return absl::InvalidArgumentError(
          absl::StrFormat("table \"%s\" is not in the base snapshot; its tables are: %s", name,
                          absl::StrJoin(available, ", ")));
    }
    selected.push_back(found);
  }
  return selected;
}

// Moves a record's tables into `schema` and drops records of other tables (and DDL
// messages, which describe the source's schema, not the side-by-side copy).
bool KeepAndMove(const absl::flat_hash_set<RelationOid>& oids, const std::string& schema,
                 v1::Record* record) {
  if (record->has_relation_def()) {
    if (!oids.contains(proto::OidOf(record->relation_def()))) return false;
    record->mutable_relation_def()->set_schema(schema);
    return true;
  }
  if (!record->has_event()) return true;
  v1::Event* event = record->mutable_event();
  switch (event->op()) {
    case v1::MESSAGE:
      return event->message().prefix() != "walship.ddl";
    case v1::TRUNCATE: {
      google::protobuf::RepeatedPtrField<v1::Relation> kept;
      for (const v1::Relation& relation : event->truncate().relations()) {
        if (oids.contains(proto::OidOf(relation))) {
          v1::Relation* moved = kept.Add();
          *moved = relation;
          if (!moved->schema().empty()) moved->set_schema(schema);
        }
      }
      if (event->truncate().relations_size() == 0) {
        if (!oids.contains(proto::OidOf(event->relation()))) return false;
      } else {
        if (kept.empty()) return false;
        event->mutable_truncate()->mutable_relations()->Swap(&kept);
        *event->mutable_relation() = event->truncate().relations(0);
      }
      if (!event->relation().schema().empty()) event->mutable_relation()->set_schema(schema);
      return true;
    }
    default:
      if (!oids.contains(proto::OidOf(event->relation()))) return false;
      if (!event->relation().schema().empty()) event->mutable_relation()->set_schema(schema);
      return true;
  }
}

absl::StatusOr<bool> TableExists(agent::pg::Session* conn, const std::string& schema,
                                 const std::string& table) {
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult found,
      conn->Query("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                  {schema, table},
                  absl::StrFormat("looking up \"%s.%s\" in the target", schema, table)));
  return !found.rows.empty();
}


absl::Status SetSequences(agent::pg::Session* conn, const v1::BaseManifest& manifest, size_t* count) {
  for (const v1::SequenceValue& sequence : manifest.sequences()) {
    std::string seq = agent::pg::QuoteQualified(sequence.schema(), sequence.name());
    WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> exists,
                             conn->QueryValue("SELECT to_regclass($1) IS NOT NULL", {seq},
                                              "looking up a sequence in the target"));
    if (exists.value_or("f") != "t") {
      LogInfo("sequence \"%s.%s\" of the base is gone (dropped or renamed by a later schema "
              "change)",
              sequence.schema(), sequence.name());
      continue;
    }
    std::string column_max = "NULL::bigint";
    if (!sequence.owned_by_table().empty() && !sequence.owned_by_column().empty()) {
      size_t dot = sequence.owned_by_table().find('.');
      std::string table = dot == std::string::npos
                              ? agent::pg::QuoteIdent(sequence.owned_by_table())
                              : agent::pg::QuoteQualified(sequence.owned_by_table().substr(0, dot),
                                                   sequence.owned_by_table().substr(dot + 1));
      column_max = absl::StrCat("(SELECT max(", agent::pg::QuoteIdent(sequence.owned_by_column()),
                                ")::bigint FROM ", table, ")");
    }
    // At least the base's value; past the largest value of the owned column.
    std::string sql =
        absl::StrCat("SELECT CASE WHEN m IS NOT NULL AND m > $1::bigint THEN setval('", seq,
                     "'::regclass, m, true) ELSE setval('", seq,
                     "'::regclass, $1::bigint, $2::boolean) END "
                     "FROM (SELECT ",
                     column_max, " AS m) s");
    WALSHIP_RETURN_IF_ERROR(
        conn->Query(
                sql, {absl::StrCat(sequence.last_value()), sequence.is_called() ? "true" : "false"},
                absl::StrFormat("setting sequence \"%s.%s\"", sequence.schema(), sequence.name()))
            .status());
    ++*count;
  }
  // Sequences the base does not know (created by DDL in the change window, serial and
  // identity columns among them): past the largest value of the column they own.
  absl::flat_hash_set<std::string> known;
  for (const v1::SequenceValue& sequence : manifest.sequences()) {
    known.insert(absl::StrCat(sequence.schema(), ".", sequence.name()));
  }
  return SetOwnedSequences(conn, known, "", count);
}

// Every sequence owned by a table column (in `only_schema`, when given) and not in `known`
// ("schema.name"): past the largest value of its column.
absl::Status SetOwnedSequences(agent::pg::Session* conn, const absl::flat_hash_set<std::string>& known,
                               const std::string& only_schema, size_t* count) {
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult owned,
      conn->Query("SELECT sn.nspname, s.relname, tn.nspname, t.relname, a.attname "
                  "FROM pg_catalog.pg_class s "
                  "JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace "
                  "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass "
                  "  AND d.objid = s.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass "
                  "  AND d.deptype IN ('a', 'i') "
                  "JOIN pg_catalog.pg_class t ON t.oid = d.refobjid AND t.relkind IN ('r', 'p') "
                  "JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "
                  "JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                  "WHERE s.relkind = 'S' AND sn.nspname <> 'walship' "
                  "AND ($1 = '' OR sn.nspname = $1)",
                  {only_schema}, "listing the target's owned sequences"));
  for (const auto& row : owned.rows) {
    if (!row[0] || !row[1] || !row[2] || !row[3] || !row[4]) continue;
    if (known.contains(absl::StrCat(*row[0], ".", *row[1]))) continue;
    std::string seq = agent::pg::QuoteQualified(*row[0], *row[1]);
    std::string sql = absl::StrCat(
        "SELECT setval($1::regclass, m, true) FROM (SELECT max(", agent::pg::QuoteIdent(*row[4]),
        ")::bigint AS m FROM ", agent::pg::QuoteQualified(*row[2], *row[3]), ") s, ", seq,
        " q WHERE m IS NOT NULL AND (m > q.last_value OR (m = q.last_value AND NOT q.is_called))");
    WALSHIP_RETURN_IF_ERROR(
        conn->Query(sql, {seq}, absl::StrFormat("setting sequence \"%s.%s\"", *row[0], *row[1]))
            .status());
    ++*count;
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
