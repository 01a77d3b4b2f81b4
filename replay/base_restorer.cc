// Restore orchestration on top of a base snapshot.
#include "replay/base_restorer.h"

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
#include "replay/change_fold.h"
#include "replay/early_foreign_keys.h"
#include "replay/fold_runner.h"
#include "replay/large_objects.h"
#include "replay/preflight.h"
#include "replay/sequence_recordings.h"
#include "replay/sql_script.h"
#include "replay/table_level_schema.h"
#include "replay/target_tables.h"

namespace walship::replay {
namespace {

absl::Status RunStatements(pg::PgConnection* conn, const std::vector<std::string>& statements,
                           absl::string_view part) {
  for (const std::string& statement : statements) {
    WALSHIP_RETURN_IF_ERROR(conn->Exec(
        statement, absl::StrFormat("running %s statement \"%s\"", part, FirstLine(statement))));
  }
  return absl::OkStatus();
}

// A post-data statement and the session settings the script made before it (joined with
// ';'), to repeat on whichever connection runs it.
struct ScriptStatement {
  std::string settings;
  std::string sql;
};

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
    absl::StatusOr<std::unique_ptr<pg::PgConnection>> conn =
        pg::PgConnection::Connect(conninfo, pg::ConnectionKind::kNormal);
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
                                                 part, FirstLine(statement.sql)));
          if (!status.ok()) break;
          applied = statement.settings;
        }
        status = (*conn)->Exec(statement.sql, absl::StrFormat("running %s statement \"%s\"", part,
                                                              FirstLine(statement.sql)));
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
  return absl::AsciiStrToUpper(plain ? ident : pg::QuoteIdent(ident));
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
bool KeepAndMove(const absl::flat_hash_set<uint32_t>& oids, const std::string& schema,
                 v1::Record* record) {
  if (record->has_relation_def()) {
    if (!oids.contains(record->relation_def().oid())) return false;
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
        if (oids.contains(relation.oid())) {
          v1::Relation* moved = kept.Add();
          *moved = relation;
          if (!moved->schema().empty()) moved->set_schema(schema);
        }
      }
      if (event->truncate().relations_size() == 0) {
        if (!oids.contains(event->relation().oid())) return false;
      } else {
        if (kept.empty()) return false;
        event->mutable_truncate()->mutable_relations()->Swap(&kept);
        *event->mutable_relation() = event->truncate().relations(0);
      }
      if (!event->relation().schema().empty()) event->mutable_relation()->set_schema(schema);
      return true;
    }
    default:
      if (!oids.contains(event->relation().oid())) return false;
      if (!event->relation().schema().empty()) event->mutable_relation()->set_schema(schema);
      return true;
  }
}

absl::StatusOr<bool> TableExists(pg::PgConnection* conn, const std::string& schema,
                                 const std::string& table) {
  WALSHIP_ASSIGN_OR_RETURN(
      pg::QueryResult found,
      conn->Query("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                  {schema, table},
                  absl::StrFormat("looking up \"%s.%s\" in the target", schema, table)));
  return !found.rows.empty();
}

absl::Status SetOwnedSequences(pg::PgConnection* conn, const absl::flat_hash_set<std::string>& known,
                               const std::string& only_schema, size_t* count);

absl::Status SetSequences(pg::PgConnection* conn, const v1::BaseManifest& manifest, size_t* count) {
  for (const v1::SequenceValue& sequence : manifest.sequences()) {
    std::string seq = pg::QuoteQualified(sequence.schema(), sequence.name());
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
                              ? pg::QuoteIdent(sequence.owned_by_table())
                              : pg::QuoteQualified(sequence.owned_by_table().substr(0, dot),
                                                   sequence.owned_by_table().substr(dot + 1));
      column_max = absl::StrCat("(SELECT max(", pg::QuoteIdent(sequence.owned_by_column()),
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
absl::Status SetOwnedSequences(pg::PgConnection* conn, const absl::flat_hash_set<std::string>& known,
                               const std::string& only_schema, size_t* count) {
  WALSHIP_ASSIGN_OR_RETURN(
      pg::QueryResult owned,
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
    std::string seq = pg::QuoteQualified(*row[0], *row[1]);
    std::string sql = absl::StrCat(
        "SELECT setval($1::regclass, m, true) FROM (SELECT max(", pg::QuoteIdent(*row[4]),
        ")::bigint AS m FROM ", pg::QuoteQualified(*row[2], *row[3]), ") s, ", seq,
        " q WHERE m IS NOT NULL AND (m > q.last_value OR (m = q.last_value AND NOT q.is_called))");
    WALSHIP_RETURN_IF_ERROR(
        conn->Query(sql, {seq}, absl::StrFormat("setting sequence \"%s.%s\"", *row[0], *row[1]))
            .status());
    ++*count;
  }
  return absl::OkStatus();
}

// The restore's change statistics: the folded events, then the applied ones. A
// transaction cut by the fold counts once.
RestoreResult Combine(const ChangeFold* fold, const RestoreResult& applied) {
  RestoreResult combined = applied;
  const ApplierStats& folded = fold->stats();
  ApplierStats& stats = combined.stats;
  bool split = applied.stats.events > 0 && folded.events > 0 &&
               fold->resume_at().first == folded.last_commit_lsn;
  stats.transactions += folded.transactions - (split ? 1 : 0);
  stats.events += folded.events;
  if (applied.stats.events == 0) {
    stats.last_commit_lsn = folded.last_commit_lsn;
    stats.last_sequence = folded.last_sequence;
    stats.last_commit_time_us = folded.last_commit_time_us;
    stats.committed_commit_lsn = folded.committed_commit_lsn;
  }
  combined.stopped_at_target = applied.stopped_at_target || fold->stopped_at_target();
  return combined;
}

}  // namespace

absl::StatusOr<BaseRestoreResult> RestoreFromBase(sinks::ObjectStore* store,
                                                  const sinks::StreamId& stream,
                                                  const BaseRestorePlan& plan,
                                                  const std::string& conninfo,
                                                  const BaseRestoreOptions& options) {
  const v1::BaseManifest& manifest = plan.base.manifest;
  const bool table_level = !options.into_schema.empty();
  if (table_level && options.tables.empty()) {
    return absl::InvalidArgumentError("--into-schema needs --tables (the tables to restore)");
  }
  BaseRestoreResult result;
  absl::Time start = absl::Now();
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<pg::PgConnection> conn,
                           pg::PgConnection::Connect(conninfo, pg::ConnectionKind::kNormal));
  WALSHIP_RETURN_IF_ERROR(conn->Exec("SET synchronous_commit = off", "tuning the target session"));
  // Changes apply as a logical replication worker applies them: the source's cascades and
  // trigger effects are in the stream already, so the target's must not fire again (they
  // exist during the changes once a schema change brought the rest of the schema forward).
  if (absl::Status replica = conn->Exec("SET session_replication_role = replica");
      !replica.ok()) {
    LogWarning(
        "cannot apply changes with session_replication_role = replica (%s): restore as a "
        "superuser, or a change window with schema changes may fire foreign key actions and "
        "triggers twice",
        replica.message());
  }
  WALSHIP_ASSIGN_OR_RETURN(std::vector<const v1::BaseTable*> tables,
                           SelectTables(manifest, options.tables));
  std::vector<TableLoadJob> work;
  for (const v1::BaseTable* table : tables) {
    TableLoadJob& job = work.emplace_back();
    job.table = table;
    job.target_schema = table_level ? options.into_schema : table->relation().schema();
    job.target_table = table->relation().table();
  }
  LogInfo("restoring from base %s (snapshot %s, %d tables, %d rows)",
          plan.base.snapshot_lsn().ToString(), FormatUtcMicros(manifest.snapshot_time_us()),
          work.size(), plan.base.row_count());

  // 0. Pre-flight: every object the restore reads is fetched (remote stores) and checked
  // before anything is written to the target.
  auto began_writing = [&options]() {
    if (options.began_writing != nullptr) *options.began_writing = true;
  };
  // Before the schema's statements: the roles its privileges name must exist (refused
  // before any write), or are created (--create-roles), which is the first write.
  auto start_writing_with_roles = [&]() -> absl::Status {
    WALSHIP_ASSIGN_OR_RETURN(std::vector<const v1::BaseRole*> missing_roles,
                             MissingRoles(conn.get(), manifest));
    if (!options.create_roles) {
      WALSHIP_RETURN_IF_ERROR(ProvideRoles(conn.get(), missing_roles, false));
    }
    began_writing();
    return ProvideRoles(conn.get(), missing_roles, options.create_roles);
  };
  {
    absl::Time checking = absl::Now();
    WALSHIP_ASSIGN_OR_RETURN(
        PreflightStats checked,
        CheckObjects(store, options.cache,
                     ObjectsToRead(plan, stream, tables, /*large_objects=*/!table_level),
                     options.jobs));
    LogInfo("pre-flight: %d objects (%.1f MiB%s) checked in %.2fs", checked.objects,
            checked.bytes / 1048576.0,
            options.cache != nullptr
                ? absl::StrFormat(", %.1f MiB fetched into %s", checked.fetched / 1048576.0,
                                  options.cache->dir())
                : "",
            absl::ToDoubleSeconds(absl::Now() - checking));
  }

  // 1. Schema with keys.
  PostDataParts post = SplitPostData(manifest.post_data_sql());
  bool run_post_data = false;
  TableLevelSchema table_schema;
  if (table_level) {
    for (const TableLoadJob& job : work) {
      WALSHIP_ASSIGN_OR_RETURN(bool exists,
                               TableExists(conn.get(), job.target_schema, job.target_table));
      if (exists) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "table \"%s.%s\" already exists in the target; choose another --into-schema",
            job.target_schema, job.target_table));
      }
    }
    WALSHIP_RETURN_IF_ERROR(start_writing_with_roles());
    WALSHIP_RETURN_IF_ERROR(conn->Exec(
        absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", pg::QuoteIdent(options.into_schema)),
        absl::StrFormat("creating schema \"%s\"", options.into_schema)));
    // The tables as the base defines them (sequences, defaults, identity, comments, keys,
    // indexes, constraints, triggers), moved into the new schema.
    std::vector<QualifiedName> chosen, all_tables;
    for (const TableLoadJob& job : work) {
      chosen.push_back({job.table->relation().schema(), job.table->relation().table()});
    }
    for (const v1::BaseTable& table : manifest.tables()) {
      all_tables.push_back({table.relation().schema(), table.relation().table()});
    }
    absl::flat_hash_map<std::string, std::string> quoted_names;
    absl::Status quote_failed = absl::OkStatus();
    auto quote = [&](const std::string& name) -> std::string {
      auto it = quoted_names.find(name);
      if (it != quoted_names.end()) return it->second;
      absl::StatusOr<std::optional<std::string>> quoted =
          conn->QueryValue("SELECT quote_ident($1)", {name}, "quoting a name");
      if (!quoted.ok()) quote_failed.Update(quoted.status());
      std::string result = quoted.ok() ? quoted->value_or(name) : name;
      quoted_names[name] = result;
      return result;
    };
    table_schema = BuildTableLevelSchema(manifest.pre_data_sql(), manifest.post_data_sql(),
                                         chosen, all_tables, options.into_schema, quote);
    WALSHIP_RETURN_IF_ERROR(quote_failed);
    for (const std::string& statement : table_schema.skipped) {
      LogWarning("skipped (it names a table outside --tables): %s",
                 absl::StrReplaceAll(statement, {{"\n", " "}, {"    ", ""}}));
    }
    WALSHIP_RETURN_IF_ERROR(RunStatements(conn.get(), table_schema.create, "table schema"));
    WALSHIP_RETURN_IF_ERROR(conn->Exec("RESET search_path", "resetting search_path"));
  } else {
    std::vector<std::string> existing, missing;
    for (const TableLoadJob& job : work) {
      WALSHIP_ASSIGN_OR_RETURN(bool exists,
                               TableExists(conn.get(), job.target_schema, job.target_table));
      (exists ? existing : missing)
          .push_back(absl::StrCat(job.target_schema, ".", job.target_table));
    }
    if (!existing.empty() && !missing.empty()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the target has some of the base's tables (%s) but not others (%s); restore into an "
          "empty database or one with the whole schema",
          absl::StrJoin(existing, ", "), absl::StrJoin(missing, ", ")));
    }
    if (existing.empty()) {
      WALSHIP_RETURN_IF_ERROR(CheckTargetIsEmpty(conn.get()));
      WALSHIP_RETURN_IF_ERROR(
          CheckExtensionsAvailable(conn.get(), ExtensionsCreatedBy(manifest.pre_data_sql())));
      WALSHIP_RETURN_IF_ERROR(start_writing_with_roles());
      WALSHIP_RETURN_IF_ERROR(
          RunStatements(conn.get(), SplitSqlScript(manifest.pre_data_sql()), "pre-data schema"));
      // pg_dump empties search_path; DDL messages name types as the source's session saw
      // them (unqualified for public), so changes run under the default search_path.
      WALSHIP_RETURN_IF_ERROR(conn->Exec("RESET search_path", "resetting search_path"));
      run_post_data = true;
    } else {
      // Every table is checked before the first is emptied.
      std::vector<std::string> to_empty;
      for (const TableLoadJob& job : work) {
        std::string quoted = pg::QuoteQualified(job.target_schema, job.target_table);
        WALSHIP_ASSIGN_OR_RETURN(
            std::optional<std::string> has_rows,
            conn->QueryValue(absl::StrCat("SELECT EXISTS (SELECT 1 FROM ", quoted, ")"), {},
                             absl::StrFormat("checking that \"%s\" is empty", quoted)));
        if (has_rows && *has_rows == "t") {
          if (!options.force) {
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
      began_writing();
      for (const std::string& quoted : to_empty) {
        WALSHIP_RETURN_IF_ERROR(conn->Exec(absl::StrCat("TRUNCATE ONLY ", quoted, " CASCADE"),
                                           absl::StrFormat("emptying \"%s\"", quoted)));
      }
      LogInfo("the target already has the schema: base schema statements are not run");
    }
  }
  absl::Time schema_done = absl::Now();
  result.schema_time = schema_done - start;

  // 2. Base rows. Split over several COPY streams only into tables without keys yet: with a
  // unique index, two streams inserting the same key (a corrupt base) would wait on each
  // other's open transaction.
  const uint64_t split_bytes =
      run_post_data ? options.split_table_bytes : std::numeric_limits<uint64_t>::max();
  // Keys are built on the loaded rows (faster than maintaining them row by row), each
  // table's as soon as it is loaded while others still load; changes need them, so all
  // are in place before the changes phase.
  std::vector<std::vector<ScriptStatement>> key_groups;
  absl::flat_hash_map<std::string, size_t> key_group_of_table;
  if (run_post_data) {
    key_groups = GroupByTable(WithSettings(post.keys));
    for (size_t i = 0; i < key_groups.size(); ++i) {
      key_group_of_table[PostDataTable(key_groups[i].front().sql)] = i;
    }
  }
  std::vector<bool> keys_built(key_groups.size(), false);
  // The secondary index builds, by table: when the whole change window folds into the
  // load, each table is final once loaded and its indexes are built right away.
  std::vector<ScriptStatement> rest = WithSettings(post.rest);
  std::vector<bool> index_built(rest.size(), false);
  absl::flat_hash_map<std::string, std::vector<size_t>> indexes_of_table;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (IsCreateIndex(rest[i].sql)) indexes_of_table[PostDataTable(rest[i].sql)].push_back(i);
  }

  // The change window folded into the load where it can be (see ChangeFold): only when the
  // restore creates the schema, so no key, constraint or trigger sees the load's order.
  WALSHIP_ASSIGN_OR_RETURN(RestorePlan changes, ResolveXidTarget(store, plan.changes));
  // The window is read on a thread of its own while the tables it does not change load.
  std::unique_ptr<FoldRunner> folding;
  // The relations the window changes (unknown for segments that do not list them).
  std::optional<absl::flat_hash_set<uint32_t>> changed;
  if (run_post_data && !table_level && !options.check_base && options.fold_memory_bytes > 0) {
    FoldOptions fold_options;
    fold_options.memory_limit_bytes = options.fold_memory_bytes;
    folding = std::make_unique<FoldRunner>(store, changes, manifest, fold_options);
    changed = ChangedRelations(changes);
    for (TableLoadJob& job : work) {
      uint32_t oid = job.table->relation().oid();
      if (changed && !changed->contains(oid)) continue;
      job.await_fold = [&folding, oid]() -> absl::StatusOr<FoldedTable*> {
        WALSHIP_ASSIGN_OR_RETURN(ChangeFold * fold, folding->Wait());
        return fold->Table(oid);
      };
    }
  }
  if (run_post_data) {
    for (TableLoadJob& job : work) job.created = true;
  }
  // Whether a table is final once loaded: one the window leaves alone is; the others are
  // when the whole window folded, known once the fold is built (so a table loaded before
  // that waits for it here).
  auto indexes_early = [&](const TableLoadJob& job) -> absl::StatusOr<bool> {
    if (folding == nullptr) return false;
    if (changed && !changed->contains(job.table->relation().oid())) return true;
    WALSHIP_ASSIGN_OR_RETURN(ChangeFold * fold, folding->Wait());
    return fold->complete();
  };
  // Foreign keys added to empty tables before their rows load, when the load does not fire
  // them (superuser: session_replication_role = replica) and nothing is applied by
  // statements afterwards (the whole window folded; known before a changed table loads).
  std::unique_ptr<EarlyForeignKeys> early_keys;
  if (folding != nullptr) {
    WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> superuser,
                             conn->QueryValue("SHOW is_superuser", {}, "checking the role"));
    if (superuser.value_or("") == "on") {
      std::vector<EarlyForeignKeys::Candidate> candidates;
      for (size_t i = 0; i < rest.size(); ++i) {
        std::optional<ForeignKeyCheck> key = SplitForeignKey(rest[i].sql);
        if (!key) continue;
        candidates.push_back({rest[i].sql, i, absl::AsciiStrToUpper(key->table),
                              absl::AsciiStrToUpper(key->referenced)});
      }
      early_keys = std::make_unique<EarlyForeignKeys>(
          std::move(candidates), [&](const EarlyForeignKeys::Candidate& candidate) {
            return RunGroups(conninfo, 1, {{rest[candidate.script_index]}}, "foreign key");
          });
    }
  }
  LoadHooks hooks;
  if (early_keys != nullptr) {
    hooks.before_table = [&](const TableLoadJob& job) -> absl::Status {
      bool complete = false;
      if (folding->Done()) {
        WALSHIP_ASSIGN_OR_RETURN(ChangeFold * fold, folding->Wait());
        complete = fold->complete();
      }
      return early_keys->BeforeLoad(DumpQualifiedName(job.target_schema, job.target_table),
                                    complete);
    };
    hooks.on_failure = [&] { early_keys->Stop(); };
  }

  absl::Mutex keys_mu;
  TableHook build_keys = nullptr;
  if (run_post_data) {
    build_keys = [&](const TableLoadJob& job) -> absl::Status {
      std::string table = DumpQualifiedName(job.target_schema, job.target_table);
      auto found = key_group_of_table.find(table);
      WALSHIP_ASSIGN_OR_RETURN(bool early, indexes_early(job));
      if (early) {
        // The table is final: every index build at once (keys split from their
        // constraints), then the rest of its keys in script order.
        std::vector<std::vector<ScriptStatement>> builds;
        std::vector<ScriptStatement> after;
        if (found != key_group_of_table.end()) {
          for (const ScriptStatement& statement : key_groups[found->second]) {
            if (std::optional<KeyIndexBuild> split = SplitKeyBuild(statement.sql)) {
              builds.push_back({ScriptStatement{statement.settings, split->create_index}});
              after.push_back(ScriptStatement{statement.settings, split->add_constraint});
            } else if (IsCreateIndex(statement.sql)) {
              builds.push_back({statement});
            } else {
              after.push_back(statement);
            }
          }
        }
        auto indexes = indexes_of_table.find(table);
        if (indexes != indexes_of_table.end()) {
          for (size_t i : indexes->second) builds.push_back({rest[i]});
        }
        WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo, options.jobs, builds, "index"));
        if (!after.empty()) WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo, 1, {after}, "primary key"));
        {
          absl::MutexLock lock(&keys_mu);
          if (found != key_group_of_table.end()) keys_built[found->second] = true;
          if (indexes != indexes_of_table.end()) {
            for (size_t i : indexes->second) index_built[i] = true;
          }
        }
        if (early_keys != nullptr) early_keys->Loaded(table, found != key_group_of_table.end());
        return absl::OkStatus();
      }
      if (found != key_group_of_table.end()) {
        WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo, 1, {key_groups[found->second]}, "primary key"));
        absl::MutexLock lock(&keys_mu);
        keys_built[found->second] = true;
      }
      if (early_keys != nullptr) early_keys->Loaded(table, found != key_group_of_table.end());
      return absl::OkStatus();
    };
  }
  hooks.after_table = build_keys;
  WALSHIP_ASSIGN_OR_RETURN(result.tables, LoadBaseTables(store, stream, conninfo, work,
                                                         options.jobs, split_bytes, hooks));
  if (run_post_data) {
    // The keys not matched to a loaded table (or of tables the script names otherwise).
    std::vector<std::vector<ScriptStatement>> rest_keys;
    for (size_t i = 0; i < key_groups.size(); ++i) {
      if (!keys_built[i]) rest_keys.push_back(key_groups[i]);
    }
    WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo, options.jobs, rest_keys, "primary key"));
  }
  if (table_level) {
    WALSHIP_RETURN_IF_ERROR(RunStatements(conn.get(), table_schema.keys, "table keys"));
  }
  if (options.check_base) {
    for (const TableLoadJob& job : work) {
      std::string quoted = pg::QuoteQualified(job.target_schema, job.target_table);
      WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> sum,
                               conn->QueryValue(TableChecksumSql(quoted), {},
                                                absl::StrFormat("checksumming \"%s\"", quoted)));
      if (sum.value_or("") != job.table->checksum()) {
        return absl::DataLossError(absl::StrFormat(
            "table \"%s\" loaded from base %s has checksum %s but the manifest \"%s\" says %s; "
            "the base is corrupt",
            DisplayName(job.table->relation()), plan.base.snapshot_lsn().ToString(),
            sum.value_or("?"), plan.base.manifest_key, job.table->checksum()));
      }
    }
  }
  // The large objects as of the base (they are not in the change stream).
  if (!table_level && !manifest.large_object_keys().empty()) {
    WALSHIP_ASSIGN_OR_RETURN(result.large_objects,
                             RestoreLargeObjects(store, stream, manifest, conn.get()));
    LogInfo("restored %d large objects (%.1f MiB) as of the base's snapshot; later changes to "
            "large objects are not in the change stream",
            result.large_objects, manifest.large_object_bytes() / 1048576.0);
  }
  absl::Time copy_done = absl::Now();
  result.copy_time = copy_done - schema_done;

  // The rest of the schema (step 4), once: before the first schema change of the window
  // when there is one (its statements name objects as the base has them, and a change may
  // rename or drop them), else after the changes.
  bool rest_of_schema_done = !run_post_data;
  auto rest_of_schema = [&]() -> absl::Status {
    if (rest_of_schema_done) return absl::OkStatus();
    rest_of_schema_done = true;
    // Index builds at once over the jobs (they depend only on their table and each other's
    // absence of conflicts: SHARE locks), then everything else (foreign keys after the
    // referenced keys, index attachments, triggers, ...) in script order on one connection,
    // foreign keys added NOT VALID; last, their checks, the tables' at once.
    std::vector<std::vector<ScriptStatement>> indexes;
    std::vector<std::string> others;
    for (size_t i = 0; i < rest.size(); ++i) {
      if (IsCreateIndex(rest[i].sql) && !index_built[i]) indexes.push_back({rest[i]});
    }
    WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo, options.jobs, indexes, "post-data schema"));
    std::vector<std::vector<ScriptStatement>> checks;
    std::map<std::string, size_t> checks_of_table;
    for (const std::string& statement : post.rest) {
      if (IsCreateIndex(statement)) continue;
      std::optional<ForeignKeyCheck> foreign_key = SplitForeignKey(statement);
      if (!foreign_key) {
        others.push_back(statement);
        continue;
      }
      if (early_keys != nullptr && early_keys->Added(statement)) {
        ++result.foreign_keys_added_early;
        continue;
      }
      others.push_back(foreign_key->add_not_valid);
      auto [it, added] = checks_of_table.emplace(foreign_key->table, checks.size());
      if (added) checks.emplace_back();
      checks[it->second].push_back(ScriptStatement{"", foreign_key->validate});
    }
    if (result.foreign_keys_added_early > 0) {
      LogInfo(
          "%d foreign keys were added before their tables loaded the source's rows (not "
          "checked again)",
          result.foreign_keys_added_early);
    }
    WALSHIP_RETURN_IF_ERROR(RunStatements(conn.get(), others, "post-data schema"));
    WALSHIP_RETURN_IF_ERROR(RunGroups(conninfo, options.jobs, checks, "foreign key"));
      return absl::OkStatus();
  };

  // 3. Changes after the snapshot.
  RestoreOptions restore_options;
  restore_options.applier.before_schema_change = rest_of_schema;
  restore_options.applier.force = false;
  restore_options.applier.after_base = true;
  restore_options.applier.batch_events = options.batch_events;
  if (!table_level) {
    for (const v1::BaseTable& table : manifest.tables()) {
      restore_options.applier.base_relations.push_back(table.relation());
    }
  }
  restore_options.progress_on_terminal = options.progress_on_terminal;
  if (table_level) {
    absl::flat_hash_set<uint32_t> oids;
    for (const TableLoadJob& job : work) oids.insert(job.table->relation().oid());
    std::string schema = options.into_schema;
    restore_options.filter = [oids, schema](v1::Record* record) {
      return KeepAndMove(oids, schema, record);
    };
  }
  ChangeFold* fold = nullptr;
  if (folding != nullptr) {
    WALSHIP_ASSIGN_OR_RETURN(fold, folding->Wait());
    restore_options.start_at = fold->resume_at();
  }
  if (fold == nullptr || !fold->complete()) {
    WALSHIP_ASSIGN_OR_RETURN(result.changes, Restore(store, changes, conn.get(), restore_options));
  }
  if (fold != nullptr) {
    result.changes = Combine(fold, result.changes);
    result.folded_events = fold->stats().events;
  }
  absl::Time changes_done = absl::Now();
  result.change_time = changes_done - copy_done;

  // 4. The rest of the schema, then sequences.
  WALSHIP_RETURN_IF_ERROR(rest_of_schema());
  if (table_level) {
    WALSHIP_RETURN_IF_ERROR(RunStatements(conn.get(), table_schema.rest, "table indexes and constraints"));
    WALSHIP_RETURN_IF_ERROR(SetOwnedSequences(conn.get(), {}, options.into_schema,
                                              &result.sequences_set));
  }
  if (!table_level) {
    WALSHIP_RETURN_IF_ERROR(SetSequences(conn.get(), manifest, &result.sequences_set));
    // Free-standing sequences: PostgreSQL 15 does not stream them; the agent records them.
    Lsn restored(std::max(result.changes.stats.last_commit_lsn, plan.base.snapshot_lsn().value()));
    WALSHIP_ASSIGN_OR_RETURN(std::optional<SequenceRecordingAt> recording,
                             FindSequenceRecording(store, plan.stream_segments, restored));
    if (recording.has_value()) {
      WALSHIP_RETURN_IF_ERROR(ApplySequenceRecording(conn.get(), *recording,
                                                     options.sequence_margin,
                                                     &result.sequences_set));
    } else if (std::any_of(manifest.sequences().begin(), manifest.sequences().end(),
                           [](const v1::SequenceValue& s) { return s.owned_by_table().empty(); })) {
      LogInfo("the stream holds no sequence recordings: free-standing sequences keep their "
              "base values");
    }
  }
  // Everything above committed asynchronously; a synchronous commit of a transaction with
  // an id flushes the WAL up to it, so the whole restore is durable once this returns.
  const char* kDurable = "making the restore durable";
  WALSHIP_RETURN_IF_ERROR(conn->Exec("SET synchronous_commit = on", kDurable));
  WALSHIP_RETURN_IF_ERROR(conn->Exec("BEGIN", kDurable));
  WALSHIP_RETURN_IF_ERROR(conn->Exec("SELECT pg_catalog.txid_current()", kDurable));
  WALSHIP_RETURN_IF_ERROR(conn->Exec("COMMIT", kDurable));
  result.finish_time = absl::Now() - changes_done;
  return result;
}

}  // namespace walship::replay
