// Table comparison by checksum of sorted row text, with a merge walk for the first
// difference.
#include "replay/commands/verifier.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "proto/core/status_macros.h"

namespace walship::replay {
namespace {

using TableName = std::pair<std::string, std::string>;  // schema, table

absl::StatusOr<std::set<TableName>> ListTables(agent::pg::PgConnection* conn) {
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult result,
      conn->Query("SELECT n.nspname, c.relname FROM pg_class c "
                  "JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' "
                  "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                  "AND n.nspname NOT LIKE 'pg\\_toast%'",
                  {}, absl::StrCat("listing the tables of ", conn->Describe())));
  std::set<TableName> tables;
  for (const auto& row : result.rows) tables.emplace(row[0].value_or(""), row[1].value_or(""));
  return tables;
}

std::string Display(const TableName& name) { return absl::StrCat(name.first, ".", name.second); }

std::string RowsSql(const TableName& name, bool checksum) {
  std::string table = agent::pg::QuoteQualified(name.first, name.second);
  if (checksum) {
    return absl::StrCat(
        "SELECT count(*), md5(string_agg(walship_row::text, E'\\n' ORDER BY "
        "walship_row::text COLLATE \"C\")) FROM ",
        table, " AS walship_row");
  }
  return absl::StrCat("SELECT walship_row::text FROM ", table,
                      " AS walship_row ORDER BY walship_row::text COLLATE \"C\"");
}

// The first row (in byte order) present on one side only.
absl::StatusOr<std::string> FirstDifference(agent::pg::PgConnection* source, agent::pg::PgConnection* target,
                                            const TableName& name) {
  std::string what = absl::StrFormat("reading rows of \"%s\"", Display(name));
  WALSHIP_ASSIGN_OR_RETURN(agent::pg::QueryResult a, source->Query(RowsSql(name, false), {}, what));
  WALSHIP_ASSIGN_OR_RETURN(agent::pg::QueryResult b, target->Query(RowsSql(name, false), {}, what));
  size_t i = 0, j = 0;
  while (i < a.rows.size() || j < b.rows.size()) {
    const std::string* x = i < a.rows.size() ? &*a.rows[i][0] : nullptr;
    const std::string* y = j < b.rows.size() ? &*b.rows[j][0] : nullptr;
    if (x && y && *x == *y) {
      ++i;
      ++j;
      continue;
    }
    if (y == nullptr || (x != nullptr && *x < *y)) {
      return absl::StrFormat("table \"%s\": row %s is in the source but not in the target",
                             Display(name), *x);
    }
    return absl::StrFormat("table \"%s\": row %s is in the target but not in the source",
                           Display(name), *y);
  }
  return absl::StrFormat("table \"%s\": checksums differ but the rows read back equal",
                         Display(name));
}

}  // namespace

absl::StatusOr<VerifyResult> Verify(agent::pg::PgConnection* source, agent::pg::PgConnection* target,
                                    const VerifyOptions& options) {
  WALSHIP_ASSIGN_OR_RETURN(std::set<TableName> in_source, ListTables(source));
  WALSHIP_ASSIGN_OR_RETURN(std::set<TableName> in_target, ListTables(target));
  std::set<TableName> wanted;
  if (options.tables.empty()) {
    wanted = in_source;
    wanted.insert(in_target.begin(), in_target.end());
  } else {
    for (const std::string& table : options.tables) {
      std::pair<std::string, std::string> parts = absl::StrSplit(table, absl::MaxSplits('.', 1));
      if (parts.second.empty()) parts = {"public", parts.first};
      wanted.insert(parts);
    }
  }
  VerifyResult result;
  for (const TableName& name : wanted) {
    bool a = in_source.count(name) > 0, b = in_target.count(name) > 0;
    if (!a || !b) {
      result.differences.push_back(
          absl::StrFormat("table \"%s\" is missing in the %s", Display(name),
                          !a && !b ? "source and the target" : (a ? "target" : "source")));
      continue;
    }
    ++result.tables_compared;
    std::string what = absl::StrFormat("checksumming \"%s\"", Display(name));
    WALSHIP_ASSIGN_OR_RETURN(agent::pg::QueryResult x, source->Query(RowsSql(name, true), {}, what));
    WALSHIP_ASSIGN_OR_RETURN(agent::pg::QueryResult y, target->Query(RowsSql(name, true), {}, what));
    if (x.rows == y.rows) continue;
    WALSHIP_ASSIGN_OR_RETURN(std::string difference, FirstDifference(source, target, name));
    result.differences.push_back(std::move(difference));
  }
  return result;
}

}  // namespace walship::replay
