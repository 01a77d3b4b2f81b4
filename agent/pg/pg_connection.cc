// libpq connection set-up with pinned settings, and query helpers.
#include "agent/pg/pg_connection.h"

#include "absl/strings/str_cat.h"
#include "agent/pg/copy.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/algorithm/container.h"

namespace walship::agent::pg {
namespace {

// The first line of libpq's message, without the trailing newline.
std::string FirstLine(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  size_t nl = text.find('\n');
  if (nl != std::string::npos) text = text.substr(0, nl);
  return text;
}

absl::Status ConnectError(PGconn* conn) {
  std::string message = FirstLine(PQerrorMessage(conn));
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  std::string where = absl::StrFormat("%s:%s", host ? host : "?", port ? port : "?");
  std::string text = absl::StrFormat("cannot connect to PostgreSQL at %s: %s", where, message);
  if (absl::StrContains(message, "password authentication failed") ||
      absl::StrContains(message, "no password supplied") ||
      absl::StrContains(message, "authentication failed")) {
    return absl::PermissionDeniedError(
        absl::StrCat(text, " (check PGPASSWORD, ~/.pgpass or passfile=)"));
  }
  if (absl::StrContains(message, "does not exist") ||
      absl::StrContains(message, "no pg_hba.conf entry")) {
    return absl::FailedPreconditionError(text);
  }
  if (absl::StrContains(message, "invalid") || absl::StrContains(message, "missing \"=\"") ||
      absl::StrContains(message, "unrecognized")) {
    return absl::InvalidArgumentError(text);
  }
  return absl::UnavailableError(text);
}

absl::Status ResultError(PGconn* conn, const PGresult* result, absl::string_view what) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = FirstLine(result ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  if (message.empty()) message = FirstLine(PQerrorMessage(conn));
  std::string text = what.empty() ? message : absl::StrCat(what, ": ", message);
  if (PQstatus(conn) != CONNECTION_OK) return absl::UnavailableError(text);
  absl::string_view code = state ? state : "";
  if (absl::StartsWith(code, "08")) return absl::UnavailableError(text);
  if (code == "42P01" || code == "42704" || code == "42883" || code == "55000" ||
      code == "42703") {
    return absl::FailedPreconditionError(text);
  }
  if (absl::StartsWith(code, "42501") || absl::StartsWith(code, "28")) {
    return absl::PermissionDeniedError(text);
  }
  return absl::InternalError(text);
}

}  // namespace

const std::map<std::string, std::string>& PinnedSessionSettings() {
  static const auto* settings = new std::map<std::string, std::string>{
      {"TimeZone", "UTC"},           {"DateStyle", "ISO, MDY"},
      {"extra_float_digits", "3"},   {"IntervalStyle", "postgres"},
      {"bytea_output", "hex"},       {"client_encoding", "UTF8"},
  };
  return *settings;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(absl::string_view conninfo,
                                                                     ConnectionKind kind) {
  // Parse the user's conninfo first so a malformed one gets a clear error.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(std::string(conninfo).c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string message = parse_error ? FirstLine(parse_error) : "out of memory";
    if (parse_error) PQfreemem(parse_error);
    return absl::InvalidArgumentError(
        absl::StrCat("invalid connection string: ", message,
                     " (expected \"host=... dbname=...\" or a postgresql:// URI)"));
  }
  std::vector<std::string> keys, values;
  for (PQconninfoOption* opt = parsed; opt->keyword != nullptr; ++opt) {
    if (opt->val == nullptr) continue;
    std::string key = opt->keyword;
    if (key == "options" || key == "replication" || key == "client_encoding") continue;
    keys.push_back(key);
    values.push_back(opt->val);
  }
  PQconninfoFree(parsed);
  std::vector<std::string> options;
  for (const auto& [name, value] : PinnedSessionSettings()) {
    if (name == "client_encoding") continue;
    options.push_back(absl::StrCat("-c ", name, "=", absl::StrReplaceAll(value, {{" ", "\\ "}})));
  }
  keys.push_back("options");
  values.push_back(absl::StrJoin(options, " "));
  keys.push_back("client_encoding");
  values.push_back("UTF8");
  if (kind == ConnectionKind::kReplication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  if (!absl::c_linear_search(keys, std::string("application_name"))) {
    keys.push_back("application_name");
    values.push_back("walship");
  }
  if (!absl::c_linear_search(keys, std::string("connect_timeout"))) {
    keys.push_back("connect_timeout");
    values.push_back("10");
  }
  std::vector<const char*> key_ptrs, value_ptrs;
  for (size_t i = 0; i < keys.size(); ++i) {
    key_ptrs.push_back(keys[i].c_str());
    value_ptrs.push_back(values[i].c_str());
  }
  key_ptrs.push_back(nullptr);
  value_ptrs.push_back(nullptr);
  PgConnPtr conn(PQconnectdbParams(key_ptrs.data(), value_ptrs.data(), 0));
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) return ConnectError(conn.get());
  return std::unique_ptr<PgConnection>(new PgConnection(std::move(conn)));
}

absl::Status PgConnection::Exec(absl::string_view sql, absl::string_view what) {
  PgResultPtr result(PQexec(conn_.get(), std::string(sql).c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
  return ResultError(conn_.get(), result.get(), what);
}

absl::StatusOr<QueryResult> PgConnection::Query(
    absl::string_view sql, const std::vector<std::optional<std::string>>& params,
    absl::string_view what) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  // Without parameters use the simple protocol: replication connections accept nothing
  // else.
  PgResultPtr result(params.empty()
                         ? PQexec(conn_.get(), std::string(sql).c_str())
                         : PQexecParams(conn_.get(), std::string(sql).c_str(),
                                        static_cast<int>(values.size()), nullptr,
                                        values.data(), nullptr, nullptr, 0));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return ResultError(conn_.get(), result.get(), what);
  }
  QueryResult out;
  int ncols = PQnfields(result.get());
  int nrows = PQntuples(result.get());
  for (int c = 0; c < ncols; ++c) out.columns.push_back(PQfname(result.get(), c));
  out.rows.reserve(nrows);
  for (int r = 0; r < nrows; ++r) {
    std::vector<std::optional<std::string>> row;
    row.reserve(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.push_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result.get(), r, c),
                                     PQgetlength(result.get(), r, c)));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> PgConnection::QueryValue(
    absl::string_view sql, const std::vector<std::optional<std::string>>& params,
    absl::string_view what) {
  auto result = Query(sql, params, what);
  if (!result.ok()) return result.status();
  if (result->rows.empty() || result->rows[0].empty()) {
    return absl::NotFoundError(absl::StrCat(what.empty() ? "query" : what, ": no row"));
  }
  return result->rows[0][0];
}

absl::StatusOr<uint64_t> PgConnection::CopyOut(absl::string_view sql,
                                               const std::function<void(absl::string_view)>& row,
                                               absl::string_view what) {
  auto fail = [&](const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrFormat("%s on %s: %s", what.empty() ? "COPY TO STDOUT" : what,
                                        Describe(), status.message()));
  };
  if (absl::Status started = BeginCopy(*this, sql, CopyDirection::kOut); !started.ok()) {
    return fail(started);
  }
  std::string line;
  while (true) {
    line.clear();
    absl::StatusOr<std::optional<size_t>> got = AppendCopyRow(*this, &line);
    if (!got.ok()) return fail(got.status());
    if (!got->has_value()) break;
    row(line);
  }
  absl::StatusOr<uint64_t> rows = CopyResult(*this);
  if (!rows.ok()) return fail(rows.status());
  return *rows;
}

std::string PgConnection::Describe() const {
  const char* host = PQhost(conn_.get());
  const char* port = PQport(conn_.get());
  const char* db = PQdb(conn_.get());
  return absl::StrFormat("%s:%s/%s", host ? host : "?", port ? port : "?", db ? db : "?");
}

absl::Status PgConnection::BeginCopyIn(absl::string_view sql) {
  return BeginCopy(*this, sql, CopyDirection::kIn);
}
absl::Status PgConnection::PutCopyData(absl::string_view data) {
  return pg::PutCopyData(*this, data);
}
absl::Status PgConnection::EndCopyIn() { return EndCopyData(*this); }
void PgConnection::AbortCopyIn(absl::string_view why) { AbortCopy(*this, why); }
absl::StatusOr<uint64_t> PgConnection::CopyInResult() { return CopyResult(*this); }

CopyInSessionFactory SessionsTo(std::string conninfo) {
  return [conninfo = std::move(conninfo)]() -> absl::StatusOr<std::unique_ptr<CopyInSession>> {
    absl::StatusOr<std::unique_ptr<PgConnection>> conn =
        PgConnection::Connect(conninfo, ConnectionKind::kNormal);
    if (!conn.ok()) return conn.status();
    return std::unique_ptr<CopyInSession>(std::move(*conn));
  };
}

std::string QuoteIdent(absl::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteQualified(absl::string_view schema, absl::string_view table) {
  return absl::StrCat(QuoteIdent(schema), ".", QuoteIdent(table));
}

std::string QuoteLiteral(absl::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

bool ConninfoHasPassword(absl::string_view conninfo) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(std::string(conninfo).c_str(), &error);
  if (error) PQfreemem(error);
  if (parsed == nullptr) return false;
  bool has = false;
  for (PQconninfoOption* opt = parsed; opt->keyword != nullptr; ++opt) {
    if (absl::string_view(opt->keyword) == "password" && opt->val && *opt->val) has = true;
  }
  PQconninfoFree(parsed);
  return has;
}

}  // namespace walship::agent::pg
