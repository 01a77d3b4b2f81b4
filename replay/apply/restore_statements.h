// The statements a restore from a base runs against the target besides row changes: schema
// scripts (on one connection, or grouped by table over several at once), table checks, the
// tables chosen with --tables and their records moved into another schema, sequences.
#ifndef WALSHIP_REPLAY_APPLY_RESTORE_STATEMENTS_H_
#define WALSHIP_REPLAY_APPLY_RESTORE_STATEMENTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"

namespace walship::replay {

// Runs `statements` in order on `conn`; an error names `part` and the statement.
absl::Status RunStatements(agent::pg::Session* conn, const std::vector<std::string>& statements,
                           absl::string_view part);

// A post-data statement and the session settings the script made before it (joined with
// ';'), to repeat on whichever connection runs it.
struct ScriptStatement {
  std::string settings;
  std::string sql;
};

// The statements of a script with the session settings before each (settings themselves
// are not statements of their own).
std::vector<ScriptStatement> WithSettings(const std::vector<std::string>& statements);

// Runs `groups` on up to `jobs` connections to `conninfo`: the statements of one group in
// order on one connection, groups at once. The connections build indexes with a generous
// maintenance_work_mem and commit asynchronously (the restore ends with a durable commit).
// Several builds at once get no parallel workers each: the connections already use the
// cores, and extra worker processes only contend for them. Groups start in order. The
// first error stops the rest.
absl::Status RunGroups(const std::string& conninfo, int jobs,
                       const std::vector<std::vector<ScriptStatement>>& groups,
                       absl::string_view part);

// Keys (and replica identities): the statements of one table in script order, tables at
// once.
std::vector<std::vector<ScriptStatement>> GroupByTable(
    const std::vector<ScriptStatement>& statements);

// An identifier as pg_dump writes it: bare when it is a plain lower-case name, else quoted.
// Upper-cased like PostDataTable's result.
std::string DumpName(const std::string& ident);
// "SCHEMA.TABLE" as DumpName writes each part.
std::string DumpQualifiedName(const std::string& schema, const std::string& table);

// The manifest tables the restore covers ("schema.table", or "table" for public; empty:
// all). A name the base does not hold is kInvalidArgument listing the ones it does.
absl::StatusOr<std::vector<const v1::BaseTable*>> SelectTables(
    const v1::BaseManifest& manifest, const std::vector<std::string>& names);

// Moves a record's tables into `schema` and drops records of other tables (and DDL
// messages, which describe the source's schema, not the side-by-side copy).
bool KeepAndMove(const absl::flat_hash_set<RelationOid>& oids, const std::string& schema,
                 v1::Record* record);

absl::StatusOr<bool> TableExists(agent::pg::Session* conn, const std::string& schema,
                                 const std::string& table);

// The base's sequences at their base values, then (SetOwnedSequences) the ones it does not
// know. Adds how many were set to `*count`.
absl::Status SetSequences(agent::pg::Session* conn, const v1::BaseManifest& manifest, size_t* count);

// Every sequence owned by a table column (in `only_schema`, when given) and not in `known`
// ("schema.name"): past the largest value of its column.
absl::Status SetOwnedSequences(agent::pg::Session* conn, const absl::flat_hash_set<std::string>& known,
                               const std::string& only_schema, size_t* count);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_RESTORE_STATEMENTS_H_
