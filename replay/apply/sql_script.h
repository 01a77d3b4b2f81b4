// pg_dump schema scripts: splitting a script into statements (quotes, comments and
// dollar-quoting respected) and sorting post-data statements into the ones a restore runs
// before applying changes (primary keys, replica-identity indexes) and the rest.
#ifndef WALSHIP_REPLAY_APPLY_SQL_SCRIPT_H_
#define WALSHIP_REPLAY_APPLY_SQL_SCRIPT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace walship::replay {

// The statements of `script`, each without its terminating ';' and trimmed; comments-only
// and empty statements are dropped, psql meta-command lines ("\restrict ...") are skipped.
// Pure function.
std::vector<std::string> SplitSqlScript(absl::string_view script);

struct PostDataParts {
  // ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY / UNIQUE, ALTER TABLE ... REPLICA
  // IDENTITY ..., and the unique indexes those REPLICA IDENTITY USING INDEX name, in script
  // order: row changes are matched by these keys, so they exist before changes apply.
  std::vector<std::string> keys;
  // Everything else (secondary indexes, foreign keys, triggers, rules), in script order.
  std::vector<std::string> rest;
};
PostDataParts SplitPostData(absl::string_view post_data_sql);

// A session setting pg_dump writes ("SET ...", "SELECT pg_catalog.set_config(...)"): it
// applies to the statements after it on the same connection.
bool IsSessionSetting(absl::string_view statement);

// "CREATE [UNIQUE] INDEX ...": an index build, which shares its table with other index
// builds (SHARE lock) and depends on nothing else of the post-data schema.
bool IsCreateIndex(absl::string_view statement);

// The table a post-data statement works on, as written and upper-cased ("ALTER TABLE [ONLY]
// t ...", "CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON [ONLY] t ..."), or empty for other
// statements. Statements on different tables can run on separate connections at once.
std::string PostDataTable(absl::string_view statement);

// A primary key or unique constraint as pg_dump writes it for a plain table ("ALTER TABLE
// ONLY t ADD CONSTRAINT c PRIMARY KEY (a, b)", nothing after the column list), split into
// the index build ("CREATE UNIQUE INDEX c ON t USING btree (a, b)") and the constraint
// taking that index ("ALTER TABLE ONLY t ADD CONSTRAINT c PRIMARY KEY USING INDEX c"): the
// same catalog result, but the build takes a SHARE lock, so it runs beside the table's other
// index builds instead of before them. Empty for any other form (INCLUDE, WITH, NULLS NOT
// DISTINCT, DEFERRABLE, a tablespace), which runs as written.
struct KeyIndexBuild {
  std::string create_index;
  std::string add_constraint;
};
std::optional<KeyIndexBuild> SplitKeyBuild(absl::string_view statement);

// A foreign key as pg_dump writes it for a plain table ("ALTER TABLE ONLY t ADD CONSTRAINT
// c FOREIGN KEY ... REFERENCES ...", not already NOT VALID), split into adding it NOT VALID
// (a brief lock, no scan) and validating it ("ALTER TABLE ONLY t VALIDATE CONSTRAINT c"),
// which locks only `t` against other validations, so the foreign keys of different tables
// are checked at once. The catalog ends the same: a validated constraint. Empty for any
// other statement. `table` is the constrained table, `referenced` the one it refers to and
// `constraint` the constraint's name, as written (quoted where the script quotes).
struct ForeignKeyCheck {
  std::string add_not_valid;
  std::string validate;
  std::string table;
  std::string referenced;
  std::string constraint;
};
std::optional<ForeignKeyCheck> SplitForeignKey(absl::string_view statement);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_SQL_SCRIPT_H_
