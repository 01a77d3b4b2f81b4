// Row digests and sorted checksums of target tables.
#include "replay/load/table_digest.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/pg/pg_connection.h"
#include "proto/core/status_macros.h"
#include "proto/row_digest.h"
#include "replay/load/base_loader.h"

namespace walship::replay {

std::string ExpectedTableDigest(const v1::BaseTable& table) {
  return table.row_digest().empty() ? table.checksum() : table.row_digest();
}

absl::StatusOr<std::string> TargetTableDigest(agent::pg::Session& session,
                                              const v1::BaseTable& table,
                                              const std::string& quoted_table) {
  const std::string what = absl::StrFormat("digesting the rows of %s", quoted_table);
  if (table.row_digest().empty()) {
    WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> sum,
                             session.QueryValue(TableChecksumSql(quoted_table), {}, what));
    return sum.value_or("");
  }
  std::vector<std::string> columns;
  for (const v1::Column& column : table.relation().columns()) {
    columns.push_back(agent::pg::QuoteIdent(column.name()));
  }
  proto::RowDigest digest;
  WALSHIP_ASSIGN_OR_RETURN(uint64_t rows,
                           session.CopyOut(
                               absl::StrCat("COPY (SELECT ", absl::StrJoin(columns, ", "), " FROM ",
                                            quoted_table, ") TO STDOUT"),
                               [&digest](absl::string_view line) { digest.Add(line); }, what));
  if (rows != digest.rows()) {
    return absl::DataLossError(
        absl::StrFormat("%s: the server sent %d rows but says %d", what, digest.rows(), rows));
  }
  return digest.Hex();
}

}  // namespace walship::replay
