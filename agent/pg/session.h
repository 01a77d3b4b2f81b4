// One ordinary PostgreSQL session as its users see it: statements, queries with text
// parameters, a description for messages. PgConnection is the libpq implementation; tests
// put an in-memory fake behind it (a restore's schema and post-data phases, for example).
#ifndef WALSHIP_AGENT_PG_SESSION_H_
#define WALSHIP_AGENT_PG_SESSION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::agent::pg {

// Rows of a query result as text; NULL is std::nullopt.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Not thread-safe.
class Session {
 public:
  virtual ~Session() = default;

  // Runs `sql` (simple protocol; may hold several statements); an error names the
  // statement's purpose given in `what`.
  virtual absl::Status Exec(absl::string_view sql, absl::string_view what = "") = 0;
  // Runs one query with text parameters and returns all rows as text.
  virtual absl::StatusOr<QueryResult> Query(
      absl::string_view sql, const std::vector<std::optional<std::string>>& params = {},
      absl::string_view what = "") = 0;
  // First column of the first row; kNotFound when there is no row.
  virtual absl::StatusOr<std::optional<std::string>> QueryValue(
      absl::string_view sql, const std::vector<std::optional<std::string>>& params = {},
      absl::string_view what = "") = 0;
  // "host/port/db" for messages (never the password).
  virtual std::string Describe() const = 0;
};

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_SESSION_H_
