// Applies the "walship.ddl" logical messages (walship.proto, end of file) at their place in
// the stream: brings each described table of the target to the described state (create,
// rename, add/drop/retype columns, defaults, NOT NULL, drop table).
#ifndef WALSHIP_REPLAY_APPLY_DDL_APPLIER_H_
#define WALSHIP_REPLAY_APPLY_DDL_APPLIER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"

namespace walship::replay {

inline constexpr absl::string_view kDdlMessagePrefix = "walship.ddl";

struct DdlColumn {
  int attnum = 0;
  std::string name;
  std::string type;  // format_type() text at the source
  bool not_null = false;
  std::optional<std::string> default_expr;  // the generation expression when generated
  std::string generated;                    // attgenerated: "" or "s" (stored)
  std::string identity;                     // attidentity: "", "a" (ALWAYS), "d" (BY DEFAULT)
};

struct DdlTable {
  RelationOid oid;
  std::string schema;
  std::string table;
  bool dropped = false;
  std::vector<DdlColumn> columns;
  std::vector<std::string> primary_key;
  std::string replica_identity;  // "d", "f", "i", "n"
};

struct DdlMessage {
  // 1: "tables" only (replay brings the tables to their description). 2: also every other
  // command, with the session's search_path, so replay runs the statement itself.
  int format = 1;
  std::string tag;
  std::string query;
  std::string search_path;
  std::vector<DdlTable> tables;
};

// The command tag a statement would report ("CREATE INDEX" for "create unique index
// concurrently ..."), from its leading keywords; empty when it has none. Pure function.
std::string StatementTag(absl::string_view statement);

// True when `statement` would report `tag` ("CREATE TABLE AS" is reported by CREATE TABLE
// ... AS, "SELECT INTO" by SELECT ... INTO).
bool StatementHasTag(absl::string_view statement, absl::string_view tag);

// `statement` made runnable inside a transaction block, as replay runs every statement:
// CONCURRENTLY is dropped from CREATE/DROP INDEX, REINDEX and DETACH PARTITION (the result
// is the same catalog). Pure function.
std::string RunnableInTransaction(absl::string_view statement);

// Parses the message content. Malformed JSON or missing fields: kDataLoss.
absl::StatusOr<DdlMessage> ParseDdlMessage(absl::string_view json);

// Keeps the map source oid -> target table. Runs on the caller's connection inside the
// caller's transaction. Not thread-safe.
class DdlApplier {
 public:
  explicit DdlApplier(agent::pg::PgConnection* conn) : conn_(conn) {}

  // The table a source oid is in at the target (from the base manifest).
  void Seed(RelationOid oid, std::string schema, std::string table) {
    names_[oid] = {std::move(schema), std::move(table)};
  }

  // Applies every table description; returns the "schema.table" names it changed (before
  // and after renames) so callers can forget cached target state.
  absl::StatusOr<std::vector<std::string>> Apply(const DdlMessage& message);

  // Source oid -> the target's (schema, table), as far as the base and the DDL applied so
  // far tell.
  const absl::flat_hash_map<RelationOid, std::pair<std::string, std::string>>& names() const {
    return names_;
  }

  // Records the tables of `message` as the target now has them (after the statement itself
  // ran there); returns the names, as Apply() does.
  std::vector<std::string> Remember(const DdlMessage& message);

 private:
  // A column as the target has it.
  struct TargetColumn {
    std::string type;
    bool not_null = false;
    std::optional<std::string> default_expr;
  };
  // A described table as the target has it, while its description is applied.
  struct TargetTable {
    std::string schema, name, quoted;
    std::string what;  // for errors
    std::map<std::string, TargetColumn> columns;
    std::vector<std::string> column_order;
  };

  absl::Status ApplyTable(const DdlTable& table, const DdlMessage& message,
                          std::vector<std::string>* changed);
  absl::Status CreateTable(const DdlTable& table, const std::string& what);
  // Renames and moves the table, then brings its columns to the description.
  absl::Status AlterTable(const DdlTable& table, const DdlMessage& message, TargetTable* target);
  // Columns renamed at the source, found by attnum (or, on a table's first description, by
  // place and type when the statement renamed).
  absl::Status RenameColumns(const DdlTable& table, const DdlMessage& message,
                             TargetTable* target);
  absl::Status RenameColumn(const std::string& from, const std::string& to, TargetTable* target);
  // Adds the column, or brings its type, default and NOT NULL to the description.
  absl::Status AlterColumn(const DdlColumn& column, const TargetTable& target);
  void RememberTable(const DdlTable& table);
  // "CREATE SEQUENCE" for a nextval() default whose sequence the target lacks.
  absl::Status CreateMissingSequence(const DdlColumn& column, const std::string& what);
  std::string ColumnDefinition(const DdlColumn& column) const;

  agent::pg::PgConnection* conn_;
  absl::flat_hash_map<RelationOid, std::pair<std::string, std::string>> names_;
  // Source (oid, attnum) -> column name at the target, from earlier descriptions.
  std::map<std::pair<RelationOid, int>, std::string> column_names_;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_DDL_APPLIER_H_
