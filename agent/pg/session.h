// One ordinary PostgreSQL session as its users see it: statements, queries with text
// parameters, a description for messages. PgConnection is the libpq implementation; tests
// put an in-memory fake behind it (a restore's schema and post-data phases, for example).
#ifndef WALSHIP_AGENT_PG_SESSION_H_
#define WALSHIP_AGENT_PG_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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
  // Runs `sql`, a COPY ... TO STDOUT, handing each row (a line of COPY text with its
  // newline) to `row` as it arrives; returns the rows the server says it sent. Sessions that
  // cannot: kUnimplemented.
  virtual absl::StatusOr<uint64_t> CopyOut(absl::string_view sql,
                                           const std::function<void(absl::string_view)>& row,
                                           absl::string_view what = "") {
    (void)sql;
    (void)row;
    return absl::UnimplementedError(absl::StrCat("COPY TO STDOUT on this session: ", what));
  }
};

// Opens a new session (a libpq connection in the agent; a fake in unit tests).
using SessionFactory = std::function<absl::StatusOr<std::unique_ptr<Session>>()>;

// A session that also takes rows with COPY ... FROM STDIN (the base load's streams):
// BeginCopyIn(), PutCopyData() any number of times, EndCopyIn(), then CopyInResult() for
// the rows the server took; AbortCopyIn() instead of ending it makes the server roll the
// COPY back. Errors as copy.h describes them.
class CopyInSession : public Session {
 public:
  virtual absl::Status BeginCopyIn(absl::string_view sql) = 0;
  virtual absl::Status PutCopyData(absl::string_view data) = 0;
  virtual absl::Status EndCopyIn() = 0;
  virtual void AbortCopyIn(absl::string_view why) = 0;
  virtual absl::StatusOr<uint64_t> CopyInResult() = 0;
};
using CopyInSessionFactory = std::function<absl::StatusOr<std::unique_ptr<CopyInSession>>()>;

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_SESSION_H_
