// Replication connection: commands and the CopyBoth stream.
#include "agent/pg/replication_connection.h"

#include <poll.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "proto/core/status_macros.h"

namespace walship::agent::pg {
namespace {

// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
constexpr int64_t kPgEpochOffsetUs = 946684800LL * 1000000;

uint64_t ReadBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void WriteBe64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

std::string FirstLine(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  size_t nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicationConnection>> ReplicationConnection::Connect(
    absl::string_view conninfo) {
  WALSHIP_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(conninfo, ConnectionKind::kReplication));
  return std::unique_ptr<ReplicationConnection>(new ReplicationConnection(std::move(conn)));
}

absl::StatusOr<SystemIdentity> ReplicationConnection::IdentifySystem() {
  WALSHIP_ASSIGN_OR_RETURN(QueryResult result, conn_->Query("IDENTIFY_SYSTEM", {}, "IDENTIFY_SYSTEM"));
  if (result.rows.size() != 1 || result.rows[0].size() < 4 || !result.rows[0][0] ||
      !result.rows[0][1] || !result.rows[0][2]) {
    return absl::DataLossError("IDENTIFY_SYSTEM returned an unexpected result");
  }
  SystemIdentity id;
  id.system_id = *result.rows[0][0];
  if (!absl::SimpleAtoi(*result.rows[0][1], &id.timeline)) {
    return absl::DataLossError("IDENTIFY_SYSTEM returned a malformed timeline");
  }
  WALSHIP_ASSIGN_OR_RETURN(id.xlogpos, Lsn::Parse(*result.rows[0][2]));
  if (!result.rows[0][3]) {
    return absl::InvalidArgumentError(
        "the source connection is not bound to a database: add dbname=... to --source");
  }
  id.database = *result.rows[0][3];
  return id;
}

absl::StatusOr<std::string> ReplicationConnection::ShowSetting(absl::string_view name) {
  WALSHIP_ASSIGN_OR_RETURN(auto value,
                           conn_->QueryValue(absl::StrCat("SHOW ", name), {}, absl::StrCat("SHOW ", name)));
  return value.value_or("");
}

absl::StatusOr<std::string> ReplicationConnection::TimelineHistory(uint32_t timeline) {
  std::string command = absl::StrCat("TIMELINE_HISTORY ", timeline);
  WALSHIP_ASSIGN_OR_RETURN(QueryResult result, conn_->Query(command, {}, command));
  if (result.rows.size() != 1 || result.rows[0].size() < 2 || !result.rows[0][1]) {
    return absl::DataLossError(absl::StrFormat("%s returned an unexpected result", command));
  }
  return *result.rows[0][1];
}

absl::Status ReplicationConnection::CheckServer() {
  WALSHIP_ASSIGN_OR_RETURN(std::string wal_level, ShowSetting("wal_level"));
  if (wal_level != "logical") {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the source server %s has wal_level=%s; logical replication needs wal_level=logical "
        "(ALTER SYSTEM SET wal_level = logical, then restart the server)",
        conn_->Describe(), wal_level));
  }
  return absl::OkStatus();
}

absl::StatusOr<SlotInfo> ReplicationConnection::GetSlot(absl::string_view slot) {
  WALSHIP_ASSIGN_OR_RETURN(
      QueryResult result,
      conn_->Query("SELECT plugin, confirmed_flush_lsn, active, wal_status, database "
                   "FROM pg_catalog.pg_replication_slots WHERE slot_name = " +
                       QuoteLiteral(slot),
                   {}, "looking up the replication slot"));
  SlotInfo info;
  if (result.rows.empty()) return info;
  const auto& row = result.rows[0];
  info.exists = true;
  info.plugin = row[0].value_or("");
  if (row[1]) {
    WALSHIP_ASSIGN_OR_RETURN(info.confirmed_flush, Lsn::Parse(*row[1]));
  }
  info.active = row[2].value_or("f") == "t";
  info.wal_status = row[3].value_or("");
  return info;
}

absl::StatusOr<Lsn> ReplicationConnection::CreateSlot(absl::string_view slot) {
  WALSHIP_ASSIGN_OR_RETURN(
      QueryResult result,
      conn_->Query(absl::StrCat("CREATE_REPLICATION_SLOT ", QuoteIdent(slot),
                                " LOGICAL pgoutput (SNAPSHOT 'nothing')"),
                   {}, absl::StrFormat("creating replication slot \"%s\"", slot)));
  if (result.rows.empty() || result.rows[0].size() < 2 || !result.rows[0][1]) {
    return absl::DataLossError("CREATE_REPLICATION_SLOT returned an unexpected result");
  }
  return Lsn::Parse(*result.rows[0][1]);
}

absl::StatusOr<ReplicationConnection::ExportedSnapshot>
ReplicationConnection::CreateTemporarySlotWithSnapshot(absl::string_view slot) {
  WALSHIP_ASSIGN_OR_RETURN(
      QueryResult result,
      conn_->Query(absl::StrCat("CREATE_REPLICATION_SLOT ", QuoteIdent(slot),
                                " TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')"),
                   {}, absl::StrFormat("creating temporary replication slot \"%s\"", slot)));
  if (result.rows.empty() || result.rows[0].size() < 3 || !result.rows[0][1] ||
      !result.rows[0][2]) {
    return absl::DataLossError("CREATE_REPLICATION_SLOT returned an unexpected result");
  }
  ExportedSnapshot exported;
  WALSHIP_ASSIGN_OR_RETURN(exported.consistent_point, Lsn::Parse(*result.rows[0][1]));
  exported.snapshot_name = *result.rows[0][2];
  return exported;
}

absl::StatusOr<bool> ReplicationConnection::PublicationExists(absl::string_view publication) {
  WALSHIP_ASSIGN_OR_RETURN(
      QueryResult result,
      conn_->Query("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = " +
                       QuoteLiteral(publication),
                   {}, "looking up the publication"));
  return !result.rows.empty();
}

absl::Status ReplicationConnection::CreatePublication(absl::string_view publication,
                                                      const std::vector<std::string>& tables) {
  std::string sql = absl::StrCat("CREATE PUBLICATION ", QuoteIdent(publication));
  if (tables.empty()) {
    absl::StrAppend(&sql, " FOR ALL TABLES");
  } else {
    std::vector<std::string> quoted;
    for (const std::string& table : tables) {
      std::vector<std::string> parts = absl::StrSplit(table, absl::MaxSplits('.', 1));
      quoted.push_back(parts.size() == 2 ? QuoteQualified(parts[0], parts[1])
                                         : QuoteIdent(parts[0]));
    }
    absl::StrAppend(&sql, " FOR TABLE ", absl::StrJoin(quoted, ", "));
  }
  return conn_->Exec(sql, absl::StrFormat("creating publication \"%s\"", publication));
}

// A deferrable primary key is no replica identity: PostgreSQL refuses UPDATE and DELETE on
// such a table once it is published, as on one without a key.
absl::StatusOr<std::vector<std::string>> ReplicationConnection::TablesWithoutIdentity(
    absl::string_view publication) {
  WALSHIP_ASSIGN_OR_RETURN(
      QueryResult result,
      conn_->Query("SELECT format('%I.%I', pt.schemaname, pt.tablename) "
                   "FROM pg_catalog.pg_publication_tables pt "
                   "JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname "
                   "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
                   "WHERE pt.pubname = " + QuoteLiteral(publication) + " AND c.relreplident = 'd' AND NOT EXISTS ("
                   "  SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary "
                   "  AND i.indimmediate) "
                   "ORDER BY 1",
                   {}, "checking the published tables' replica identity"));
  std::vector<std::string> tables;
  for (const auto& row : result.rows) tables.push_back(row[0].value_or(""));
  return tables;
}

absl::Status ReplicationConnection::StartReplication(absl::string_view slot,
                                                     absl::string_view publication, Lsn start) {
  std::string sql = absl::StrFormat(
      "START_REPLICATION SLOT %s LOGICAL %s (proto_version '2', publication_names %s, "
      "streaming 'on', messages 'on')",
      QuoteIdent(slot), start.ToString(), QuoteLiteral(QuoteIdent(publication)));
  PgResultPtr result(PQexec(conn_->get(), sql.c_str()));
  if (result == nullptr || PQresultStatus(result.get()) != PGRES_COPY_BOTH) {
    std::string message = FirstLine(result ? PQresultErrorMessage(result.get())
                                           : PQerrorMessage(conn_->get()));
    std::string text = absl::StrFormat("starting replication from slot \"%s\": %s", slot, message);
    if (PQstatus(conn_->get()) != CONNECTION_OK) return absl::UnavailableError(text);
    return absl::FailedPreconditionError(text);
  }
  if (PQsetnonblocking(conn_->get(), 1) != 0) {
    return absl::InternalError("cannot make the replication connection non-blocking");
  }
  streaming_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CopyMessage>> ReplicationConnection::Read(absl::Time deadline) {
  PGconn* conn = conn_->get();
  while (true) {
    char* raw = nullptr;
    int len = PQgetCopyData(conn, &raw, /*async=*/1);
    if (len > 0) {
      PgBufferPtr buffer(raw);
      CopyMessage message;
      if (raw[0] == 'w') {
        if (len < 25) return absl::DataLossError("replication stream: truncated XLogData message");
        message.kind = CopyMessage::Kind::kXLogData;
        message.wal_start = Lsn(ReadBe64(raw + 1));
        message.wal_end = Lsn(ReadBe64(raw + 9));
        message.send_time_us = static_cast<int64_t>(ReadBe64(raw + 17)) + kPgEpochOffsetUs;
        message.payload.assign(raw + 25, static_cast<size_t>(len - 25));
      } else if (raw[0] == 'k') {
        if (len < 18) return absl::DataLossError("replication stream: truncated keepalive message");
        message.kind = CopyMessage::Kind::kKeepalive;
        message.wal_end = Lsn(ReadBe64(raw + 1));
        message.send_time_us = static_cast<int64_t>(ReadBe64(raw + 9)) + kPgEpochOffsetUs;
        message.reply_requested = raw[17] != 0;
      } else {
        return absl::DataLossError(absl::StrFormat(
            "replication stream: unknown message type 0x%02X", static_cast<unsigned char>(raw[0])));
      }
      return message;
    }
    if (len == -1) {
      // The server ended the copy stream; collect its final result.
      PgResultPtr result(PQgetResult(conn));
      std::string message = result ? FirstLine(PQresultErrorMessage(result.get())) : "";
      streaming_ = false;
      if (PQstatus(conn) != CONNECTION_OK) {
        return absl::UnavailableError(absl::StrCat("replication connection lost: ",
                                                   FirstLine(PQerrorMessage(conn))));
      }
      if (!message.empty()) {
        return absl::UnavailableError(absl::StrCat("the server ended replication: ", message));
      }
      return absl::CancelledError("the server ended the replication stream");
    }
    if (len == -2) {
      return absl::UnavailableError(
          absl::StrCat("replication connection lost: ", FirstLine(PQerrorMessage(conn))));
    }
    // Nothing buffered: wait for the socket until the deadline.
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::optional<CopyMessage>();
    struct pollfd pfd = {PQsocket(conn), POLLIN, 0};
    int timeout_ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60000));
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("waiting for the replication socket: ", strerror(errno)));
    }
    if (rc > 0 && PQconsumeInput(conn) == 0) {
      return absl::UnavailableError(
          absl::StrCat("replication connection lost: ", FirstLine(PQerrorMessage(conn))));
    }
    if (rc == 0 || (rc < 0)) {
      if (absl::Now() >= deadline) return std::optional<CopyMessage>();
    }
  }
}

absl::Status ReplicationConnection::SendStatus(Lsn received, Lsn flushed, bool reply_requested) {
  char buf[1 + 8 + 8 + 8 + 8 + 1];
  buf[0] = 'r';
  WriteBe64(buf + 1, received.value());
  WriteBe64(buf + 9, flushed.value());
  WriteBe64(buf + 17, flushed.value());
  int64_t now_us = absl::ToUnixMicros(absl::Now()) - kPgEpochOffsetUs;
  WriteBe64(buf + 25, static_cast<uint64_t>(now_us));
  buf[33] = reply_requested ? 1 : 0;
  if (PQputCopyData(conn_->get(), buf, sizeof(buf)) <= 0) {
    return absl::UnavailableError(absl::StrCat("sending a status update: ",
                                               FirstLine(PQerrorMessage(conn_->get()))));
  }
  return Flush();
}

absl::Status ReplicationConnection::Flush() {
  PGconn* conn = conn_->get();
  while (true) {
    int rc = PQflush(conn);
    if (rc == 0) return absl::OkStatus();
    if (rc < 0) {
      return absl::UnavailableError(
          absl::StrCat("replication connection lost: ", FirstLine(PQerrorMessage(conn))));
    }
    struct pollfd pfd = {PQsocket(conn), POLLOUT, 0};
    poll(&pfd, 1, 1000);
  }
}

absl::Status ReplicationConnection::EndStream() {
  if (!streaming_) return absl::OkStatus();
  PGconn* conn = conn_->get();
  streaming_ = false;
  if (PQputCopyEnd(conn, nullptr) <= 0) {
    return absl::UnavailableError("ending the replication stream: connection lost");
  }
  WALSHIP_RETURN_IF_ERROR(Flush());
  PQsetnonblocking(conn, 0);
  // Drain what the server still sends until it acknowledges the end of the copy.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    char* raw = nullptr;
    int len = PQgetCopyData(conn, &raw, 0);
    if (raw) PQfreemem(raw);
    if (len >= 0) continue;
    break;
  }
  while (PGresult* result = PQgetResult(conn)) PQclear(result);
  return absl::OkStatus();
}

}  // namespace walship::agent::pg
