// COPY over a PgConnection, and the text of libpq's errors: the only libpq calls the
// snapshotter (COPY TO STDOUT), the base load and the applier (COPY FROM STDIN) make.
//
// A COPY FROM STDIN: BeginCopy(kIn), PutCopyData() any number of times, EndCopyData(), then
// CopyResult() for the rows the server took; AbortCopy() instead of ending it makes the
// server roll it back. A COPY TO STDOUT: BeginCopy(kOut), AppendCopyRow() until it returns
// no row, then CopyResult(). Errors carry the first line of PostgreSQL's message; callers
// add what they were doing.
#ifndef WALSHIP_AGENT_PG_COPY_H_
#define WALSHIP_AGENT_PG_COPY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/pg/pg_connection.h"

namespace walship::agent::pg {

// The first line of `text` (PostgreSQL's messages end with a newline and may add
// DETAIL/HINT lines).
std::string FirstLine(absl::string_view text);

enum class CopyDirection { kIn, kOut };

// Starts `sql`, a COPY ... FROM STDIN (kIn) or COPY ... TO STDOUT (kOut). Refused by the
// server: kFailedPrecondition; connection lost: kUnavailable.
absl::Status BeginCopy(PgConnection& conn, absl::string_view sql, CopyDirection direction);

// Sends rows (whole lines of COPY text) of a COPY FROM STDIN. kUnavailable on failure.
absl::Status PutCopyData(PgConnection& conn, absl::string_view data);

// Ends the sending side of a COPY FROM STDIN. kUnavailable on failure.
absl::Status EndCopyData(PgConnection& conn);

// Ends a COPY FROM STDIN in progress with `why` as its error (the server rolls it back)
// and reads its result, so the connection is idle again.
void AbortCopy(PgConnection& conn, absl::string_view why);

// Appends the next row of a COPY TO STDOUT to `*out`: its length, or std::nullopt when the
// COPY has sent every row. kUnavailable on failure.
absl::StatusOr<std::optional<size_t>> AppendCopyRow(PgConnection& conn, std::string* out);

// The COPY's final result (read to the end, so the connection is idle again): the number
// of rows it processed, or the server's error as kFailedPrecondition.
absl::StatusOr<uint64_t> CopyResult(PgConnection& conn);

// The keyword/value pairs with a value of a conninfo string or URI, in libpq's order.
// Unparseable: kInvalidArgument with libpq's message.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseConninfo(
    absl::string_view conninfo);

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_COPY_H_
