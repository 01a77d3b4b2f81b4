// pg_dump schema scripts: splitting a script into statements (quotes, comments and
// dollar-quoting respected) and sorting post-data statements into the ones a restore runs
// before applying changes (primary keys, replica-identity indexes) and the rest.
#ifndef WALSHIP_REPLAY_SQL_SCRIPT_H_
#define WALSHIP_REPLAY_SQL_SCRIPT_H_

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

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_SQL_SCRIPT_H_
