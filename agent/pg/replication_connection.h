// The replication connection to the source: system identification, slot and publication
// management, START_REPLICATION and the CopyBoth message stream (reading XLogData and
// keepalives, sending standby status updates).
// Reference: PostgreSQL "Streaming Replication Protocol"; pg_recvlogical.c.
#ifndef WALSHIP_AGENT_PG_REPLICATION_CONNECTION_H_
#define WALSHIP_AGENT_PG_REPLICATION_CONNECTION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/replication_session.h"

namespace walship::agent::pg {

struct SlotInfo {
  bool exists = false;
  std::string plugin;
  Lsn confirmed_flush;
  bool active = false;
  // "reserved", "extended", "unreserved", "lost" (wal_status); lost means WAL is gone.
  std::string wal_status;
};

// Owns one replication=database connection. Not thread-safe.
class ReplicationConnection final : public ReplicationSession {
 public:
  using ExportedSnapshot = pg::ExportedSnapshot;

  static absl::StatusOr<std::unique_ptr<ReplicationConnection>> Connect(
      absl::string_view conninfo);

  absl::StatusOr<SystemIdentity> IdentifySystem() override;
  // wal_level must be logical, else kFailedPrecondition naming the setting to change.
  absl::Status CheckServer() override;

  absl::StatusOr<SlotInfo> GetSlot(absl::string_view slot);
  // Creates a pgoutput slot; returns its consistent point.
  absl::StatusOr<Lsn> CreateSlot(absl::string_view slot);
  // Creates a TEMPORARY pgoutput slot `slot` with an exported snapshot (dropped when this
  // connection closes). The snapshot stays importable (SET TRANSACTION SNAPSHOT) only while
  // this connection runs no other command: keep it idle until every importer has begun.
  absl::StatusOr<ExportedSnapshot> CreateTemporarySlotWithSnapshot(
      absl::string_view slot) override;
  absl::StatusOr<bool> PublicationExists(absl::string_view publication);
  // FOR ALL TABLES when `tables` is empty, else FOR TABLE t1, t2 ("schema.table" or "table").
  absl::Status CreatePublication(absl::string_view publication,
                                 const std::vector<std::string>& tables);
  // Tables in the publication that would make the source's own UPDATE/DELETE fail once
  // published (no primary key, REPLICA IDENTITY DEFAULT), as "schema.table".
  absl::StatusOr<std::vector<std::string>> TablesWithoutIdentity(absl::string_view publication);
  // TIMELINE_HISTORY: the history file of `timeline` (> 1), as PostgreSQL wrote it
  // ("<parent tli>\t<switch lsn>\t<reason>" lines).
  absl::StatusOr<std::string> TimelineHistory(uint32_t timeline);
  // Server settings recorded in segment headers (server_version, server_encoding).
  absl::StatusOr<std::string> ShowSetting(absl::string_view name) override;

  // START_REPLICATION with pgoutput protocol 2, streaming and messages on. `start`
  // Invalid means "from the slot's confirmed position".
  absl::Status StartReplication(absl::string_view slot, absl::string_view publication,
                                Lsn start) override;

  // Reads the next message, waiting at most until `deadline`. nullopt on timeout.
  // kUnavailable when the connection is lost; kDataLoss on a malformed message;
  // kCancelled when the server ended the stream.
  absl::StatusOr<std::optional<CopyMessage>> Read(absl::Time deadline) override;

  // Standby status update ('r'): received, flushed (durable) and applied positions.
  absl::Status SendStatus(Lsn received, Lsn flushed, bool reply_requested) override;

  // Ends the copy stream (CopyDone) and drains the server's final result.
  absl::Status EndStream() override;

  std::string Describe() const { return conn_->Describe(); }

 private:
  explicit ReplicationConnection(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}
  absl::Status Flush();

  std::unique_ptr<PgConnection> conn_;
  bool streaming_ = false;
};

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_REPLICATION_CONNECTION_H_
