// SQL text for applying one row change to a target table. Pure functions; parameters are
// numbered $1.. in the order the column lists are given (SET columns, then WHERE columns).
#ifndef WALSHIP_REPLAY_APPLY_SQL_BUILDER_H_
#define WALSHIP_REPLAY_APPLY_SQL_BUILDER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace walship::replay {

// `table` is already quoted ("\"public\".\"deals\"").
std::string BuildInsert(absl::string_view table, const std::vector<std::string>& columns);

// Matches rows by key columns with `=`: UPDATE ... SET a = $1 ... WHERE k = $n. A key's
// cast, when given ("::\"public\".\"pair\""), types its parameter: a composite compared
// with an untyped parameter would be read as an anonymous record.
std::string BuildUpdateByKey(absl::string_view table, const std::vector<std::string>& set,
                             const std::vector<std::string>& keys,
                             const std::vector<std::string>& key_casts = {});
std::string BuildDeleteByKey(absl::string_view table, const std::vector<std::string>& keys,
                             const std::vector<std::string>& key_casts = {});

// SELECT 1 of the rows with that key: an UPDATE that changed nothing but names a row.
std::string BuildFindByKey(absl::string_view table, const std::vector<std::string>& keys,
                           const std::vector<std::string>& key_casts = {});

// Matches exactly one row whose every listed column, as its type's output function writes
// it (format('%s', ...), NULL apart), is not distinct from the parameter (REPLICA IDENTITY FULL, or no key: rows may repeat, and json has no `=`).
std::string BuildUpdateByRow(absl::string_view table, const std::vector<std::string>& set,
                             const std::vector<std::string>& match);
std::string BuildDeleteByRow(absl::string_view table, const std::vector<std::string>& match);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_SQL_BUILDER_H_
