#include "agent/pg/copy.h"

#include <libpq-fe.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "agent/pg/pg_handles.h"

namespace walship::agent::pg {
namespace {

std::string ConnectionError(PgConnection& conn) { return FirstLine(PQerrorMessage(conn.get())); }

// The error of `result` (or of the connection when there is none).
std::string ResultError(PgConnection& conn, const PGresult* result) {
  return result != nullptr ? FirstLine(PQresultErrorMessage(result)) : ConnectionError(conn);
}

}  // namespace

std::string FirstLine(absl::string_view text) {
  size_t nl = text.find('\n');
  return std::string(nl == absl::string_view::npos ? text : text.substr(0, nl));
}

absl::Status BeginCopy(PgConnection& conn, absl::string_view sql, CopyDirection direction) {
  PgResultPtr started(PQexec(conn.get(), std::string(sql).c_str()));
  const ExecStatusType expected = direction == CopyDirection::kIn ? PGRES_COPY_IN : PGRES_COPY_OUT;
  if (started != nullptr && PQresultStatus(started.get()) == expected) return absl::OkStatus();
  std::string message = ResultError(conn, started.get());
  if (PQstatus(conn.get()) != CONNECTION_OK) return absl::UnavailableError(message);
  return absl::FailedPreconditionError(message);
}

absl::Status PutCopyData(PgConnection& conn, absl::string_view data) {
  if (PQputCopyData(conn.get(), data.data(), static_cast<int>(data.size())) != 1) {
    return absl::UnavailableError(ConnectionError(conn));
  }
  return absl::OkStatus();
}

absl::Status EndCopyData(PgConnection& conn) {
  if (PQputCopyEnd(conn.get(), nullptr) != 1) return absl::UnavailableError(ConnectionError(conn));
  return absl::OkStatus();
}

void AbortCopy(PgConnection& conn, absl::string_view why) {
  PQputCopyEnd(conn.get(), std::string(why).c_str());
  while (PgResultPtr result{PQgetResult(conn.get())}) {
  }
}

absl::StatusOr<std::optional<size_t>> AppendCopyRow(PgConnection& conn, std::string* out) {
  char* raw = nullptr;
  int len = PQgetCopyData(conn.get(), &raw, /*async=*/0);
  if (len == -1) return std::nullopt;  // every row sent
  if (len < 0) return absl::UnavailableError(ConnectionError(conn));
  PgBufferPtr buffer(raw);
  out->append(raw, static_cast<size_t>(len));
  return static_cast<size_t>(len);
}

absl::StatusOr<uint64_t> CopyResult(PgConnection& conn) {
  PgResultPtr done(PQgetResult(conn.get()));
  while (PgResultPtr extra{PQgetResult(conn.get())}) {
  }
  if (done == nullptr || PQresultStatus(done.get()) != PGRES_COMMAND_OK) {
    std::string message = ResultError(conn, done.get());
    if (PQstatus(conn.get()) != CONNECTION_OK) return absl::UnavailableError(message);
    return absl::FailedPreconditionError(message);
  }
  uint64_t rows = 0;
  if (!absl::SimpleAtoi(PQcmdTuples(done.get()), &rows)) rows = 0;
  return rows;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseConninfo(
    absl::string_view conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(conninfo).c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return absl::InvalidArgumentError(absl::StripAsciiWhitespace(message));
  }
  absl::Cleanup free_options = [options] { PQconninfoFree(options); };
  std::vector<std::pair<std::string, std::string>> pairs;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || o->val[0] == '\0') continue;
    pairs.emplace_back(o->keyword, o->val);
  }
  return pairs;
}

}  // namespace walship::agent::pg
