// SQL text construction for the applier.
#include "replay/apply/sql_builder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/pg/pg_connection.h"

namespace walship::replay {
namespace {

// "a" = $1, "b" = $2 ... joined by `separator`, numbering from `first`; casts[i], when
// given and not empty, follows the parameter ("$3::\"public\".\"pair\"").
std::string Assignments(const std::vector<std::string>& columns, int first, absl::string_view op,
                        absl::string_view separator,
                        const std::vector<std::string>& casts = {}) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < columns.size(); ++i) {
    parts.push_back(absl::StrCat(agent::pg::QuoteIdent(columns[i]), " ", op, " $",
                                 first + static_cast<int>(i), i < casts.size() ? casts[i] : ""));
  }
  return absl::StrJoin(parts, separator);
}

// Each column as its type's output function writes it (what the stream holds: `::text`
// differs for boolean "true", inet "/32" and char(n) padding), NULL kept apart from "".
std::string MatchAsOutputText(const std::vector<std::string>& columns, int first) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < columns.size(); ++i) {
    std::string column = agent::pg::QuoteIdent(columns[i]);
    parts.push_back(absl::StrCat("(CASE WHEN ", column, " IS NULL THEN NULL ELSE format('%s', ",
                                 column, ") END) IS NOT DISTINCT FROM $",
                                 first + static_cast<int>(i)));
  }
  return absl::StrJoin(parts, " AND ");
}

// The (tableoid, ctid) of one row matching every column as text, for ctid-based changes.
std::string OneRowLocator(absl::string_view table, const std::vector<std::string>& match,
                          int first) {
  std::string where = match.empty() ? "true" : MatchAsOutputText(match, first);
  return absl::StrCat("(tableoid, ctid) = (SELECT tableoid, ctid FROM ", table, " WHERE ", where,
                      " LIMIT 1)");
}

}  // namespace

std::string BuildInsert(absl::string_view table, const std::vector<std::string>& columns) {
  std::vector<std::string> names, params;
  for (size_t i = 0; i < columns.size(); ++i) {
    names.push_back(agent::pg::QuoteIdent(columns[i]));
    params.push_back(absl::StrCat("$", i + 1));
  }
  if (columns.empty()) return absl::StrCat("INSERT INTO ", table, " DEFAULT VALUES");
  // The source's value of a GENERATED ALWAYS identity column is kept, as COPY keeps it.
  return absl::StrCat("INSERT INTO ", table, " (", absl::StrJoin(names, ", "),
                      ") OVERRIDING SYSTEM VALUE VALUES (", absl::StrJoin(params, ", "), ")");
}

std::string BuildUpdateByKey(absl::string_view table, const std::vector<std::string>& set,
                             const std::vector<std::string>& keys,
                             const std::vector<std::string>& key_casts) {
  return absl::StrCat("UPDATE ", table, " SET ", Assignments(set, 1, "=", ", "), " WHERE ",
                      Assignments(keys, static_cast<int>(set.size()) + 1, "=", " AND ", key_casts));
}

std::string BuildDeleteByKey(absl::string_view table, const std::vector<std::string>& keys,
                             const std::vector<std::string>& key_casts) {
  return absl::StrCat("DELETE FROM ", table, " WHERE ",
                      Assignments(keys, 1, "=", " AND ", key_casts));
}

std::string BuildFindByKey(absl::string_view table, const std::vector<std::string>& keys,
                           const std::vector<std::string>& key_casts) {
  return absl::StrCat("SELECT 1 FROM ", table, " WHERE ",
                      Assignments(keys, 1, "=", " AND ", key_casts));
}

std::string BuildUpdateByRow(absl::string_view table, const std::vector<std::string>& set,
                             const std::vector<std::string>& match) {
  return absl::StrCat("UPDATE ", table, " SET ", Assignments(set, 1, "=", ", "), " WHERE ",
                      OneRowLocator(table, match, static_cast<int>(set.size()) + 1));
}

std::string BuildDeleteByRow(absl::string_view table, const std::vector<std::string>& match) {
  return absl::StrCat("DELETE FROM ", table, " WHERE ", OneRowLocator(table, match, 1));
}

}  // namespace walship::replay
