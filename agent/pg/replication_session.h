// ReplicationSession: what the agent's streaming loop and base snapshotter need from a
// replication=database connection to the source, as an interface so that their tests can
// use an in-memory fake. ReplicationConnection (replication_connection.h) is the libpq
// implementation; slot and publication management stay on that class.
// Reference: PostgreSQL "Streaming Replication Protocol"; pg_recvlogical.c.
#ifndef WALSHIP_AGENT_PG_REPLICATION_SESSION_H_
#define WALSHIP_AGENT_PG_REPLICATION_SESSION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"

namespace walship::agent::pg {

struct SystemIdentity {
  std::string system_id;
  uint32_t timeline = 0;
  Lsn xlogpos;
  std::string database;
};

// One message from the CopyBoth stream.
struct CopyMessage {
  enum class Kind { kXLogData, kKeepalive };
  Kind kind = Kind::kXLogData;
  Lsn wal_start;          // XLogData: where the payload's record starts
  Lsn wal_end;            // server's current end of WAL (keepalive: position sent so far)
  int64_t send_time_us = 0;  // server clock, Unix epoch microseconds
  bool reply_requested = false;
  std::string payload;    // XLogData: one pgoutput message
};

// A temporary slot's exported snapshot (CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT).
struct ExportedSnapshot {
  Lsn consistent_point;
  std::string snapshot_name;
};

// One session; not thread-safe. Closing it (destroying the object) ends the session, drops
// its temporary slots and ends any snapshot it exported.
class ReplicationSession {
 public:
  virtual ~ReplicationSession() = default;

  virtual absl::StatusOr<SystemIdentity> IdentifySystem() = 0;
  // wal_level must be logical, else kFailedPrecondition naming the setting to change.
  virtual absl::Status CheckServer() = 0;
  // A server setting (SHOW name), e.g. server_version, wal_sender_timeout.
  virtual absl::StatusOr<std::string> ShowSetting(absl::string_view name) = 0;
  // Creates a TEMPORARY pgoutput slot `slot` with an exported snapshot. The snapshot stays
  // importable (SET TRANSACTION SNAPSHOT) only while this session runs no other command:
  // keep it idle until every importer has begun.
  virtual absl::StatusOr<ExportedSnapshot> CreateTemporarySlotWithSnapshot(
      absl::string_view slot) = 0;

  // START_REPLICATION with pgoutput protocol 2, streaming and messages on. `start`
  // Invalid means "from the slot's confirmed position".
  virtual absl::Status StartReplication(absl::string_view slot, absl::string_view publication,
                                        Lsn start) = 0;
  // Reads the next message, waiting at most until `deadline`. nullopt on timeout.
  // kUnavailable when the connection is lost; kDataLoss on a malformed message;
  // kCancelled when the server ended the stream.
  virtual absl::StatusOr<std::optional<CopyMessage>> Read(absl::Time deadline) = 0;
  // Standby status update ('r'): received, flushed (durable) and applied positions.
  virtual absl::Status SendStatus(Lsn received, Lsn flushed, bool reply_requested) = 0;
  // Ends the copy stream (CopyDone) and drains the server's final result.
  virtual absl::Status EndStream() = 0;
};

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_REPLICATION_SESSION_H_
