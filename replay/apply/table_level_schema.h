// The schema of chosen tables restored into another schema (--tables ... --into-schema):
// the base's pg_dump statements that define them (table, its sequences, defaults, identity,
// comments, keys, indexes, constraints, triggers), with every name of a chosen table or of
// a sequence it owns moved to the new schema. A statement naming a base table outside the
// chosen set (a foreign key to it, a partition attachment) is left out and listed.
#ifndef WALSHIP_REPLAY_APPLY_TABLE_LEVEL_SCHEMA_H_
#define WALSHIP_REPLAY_APPLY_TABLE_LEVEL_SCHEMA_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace walship::replay {

struct QualifiedName {
  std::string schema;
  std::string table;
};

struct TableLevelSchema {
  std::vector<std::string> create;   // pre-data: before the rows load
  std::vector<std::string> keys;     // primary keys, unique keys, replica identity: before changes
  std::vector<std::string> rest;     // indexes, foreign keys within the set, triggers: at the end
  std::vector<std::string> skipped;  // statements naming tables outside the set, as written
};

// `quote_ident` quotes a name as pg_dump (and the server's quote_ident()) does. `all_tables`
// are every table of the base (to recognise statements about the others). Pure function.
TableLevelSchema BuildTableLevelSchema(absl::string_view pre_data_sql,
                                       absl::string_view post_data_sql,
                                       const std::vector<QualifiedName>& chosen,
                                       const std::vector<QualifiedName>& all_tables,
                                       const std::string& into_schema,
                                       const std::function<std::string(const std::string&)>& quote_ident);

// Replaces each `from` name where it stands as a whole name (not inside a longer
// identifier), in order. Pure function.
std::string ReplaceQualifiedNames(absl::string_view statement,
                                  const std::vector<std::pair<std::string, std::string>>& renames);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_TABLE_LEVEL_SCHEMA_H_
