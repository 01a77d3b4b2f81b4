// An ordinary or replication libpq connection opened with walship's pinned session
// settings (contract 3), plus small query helpers. Used by the agent and by replay.
#ifndef WALSHIP_AGENT_PG_PG_CONNECTION_H_
#define WALSHIP_AGENT_PG_PG_CONNECTION_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/pg/pg_handles.h"
#include "agent/pg/session.h"

namespace walship::agent::pg {

// The settings every walship session runs under, so that text values are produced and
// read back identically (recorded in each segment header).
const std::map<std::string, std::string>& PinnedSessionSettings();

enum class ConnectionKind { kNormal, kReplication };

// Owns one PGconn. Not thread-safe.
class PgConnection : public CopyInSession {
 public:
  // Connects with `conninfo` (a "key=value" string or a postgresql:// URI) plus the pinned
  // settings; for kReplication adds replication=database. Errors are one line that names
  // the server and the cause, never the password: bad credentials or a missing database
  // → kFailedPrecondition / kPermissionDenied; unreachable → kUnavailable.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(absl::string_view conninfo,
                                                               ConnectionKind kind);

  PGconn* get() const { return conn_.get(); }

  // Session (session.h).
  absl::Status Exec(absl::string_view sql, absl::string_view what = "") override;
  absl::StatusOr<QueryResult> Query(absl::string_view sql,
                                    const std::vector<std::optional<std::string>>& params = {},
                                    absl::string_view what = "") override;
  absl::StatusOr<std::optional<std::string>> QueryValue(
      absl::string_view sql, const std::vector<std::optional<std::string>>& params = {},
      absl::string_view what = "") override;
  absl::StatusOr<uint64_t> CopyOut(absl::string_view sql,
                                   const std::function<void(absl::string_view)>& row,
                                   absl::string_view what = "") override;
  std::string Describe() const override;
  // CopyInSession (session.h), over copy.h.
  absl::Status BeginCopyIn(absl::string_view sql) override;
  absl::Status PutCopyData(absl::string_view data) override;
  absl::Status EndCopyIn() override;
  void AbortCopyIn(absl::string_view why) override;
  absl::StatusOr<uint64_t> CopyInResult() override;

 private:
  explicit PgConnection(PgConnPtr conn) : conn_(std::move(conn)) {}
  PgConnPtr conn_;
};

// Opens a new libpq session to `conninfo` (kNormal) at each call.
CopyInSessionFactory SessionsTo(std::string conninfo);

// Quotes an identifier ("Deal Stage" → "\"Deal Stage\"") and a qualified name.
std::string QuoteIdent(absl::string_view name);
std::string QuoteQualified(absl::string_view schema, absl::string_view table);
// Quotes a string literal with standard_conforming_strings on.
std::string QuoteLiteral(absl::string_view value);

// True when a conninfo (as typed on a command line) holds a password= setting.
bool ConninfoHasPassword(absl::string_view conninfo);

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_PG_CONNECTION_H_
