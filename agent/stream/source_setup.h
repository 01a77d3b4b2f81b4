// Start-up checks and set-up of the source: wal_level, slot, publication, replica
// identities (ARCHITECTURE.md "Points worth knowing").
#ifndef WALSHIP_AGENT_STREAM_SOURCE_SETUP_H_
#define WALSHIP_AGENT_STREAM_SOURCE_SETUP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/pg/replication_connection.h"

namespace walship::agent {

struct SourceOptions {
  std::string slot;
  std::string publication;
  // Create the publication and slot when missing (else refuse).
  bool create = false;
  // Tables for a new publication ("schema.table"); empty means FOR ALL TABLES.
  std::vector<std::string> tables;
};

struct SourceState {
  pg::SystemIdentity identity;
  pg::SlotInfo slot;
  bool slot_created = false;  // by this start
  std::string server_version;
  std::string server_encoding;
};

// Checks the server and prepares slot and publication. Errors are kFailedPrecondition
// naming what is missing and the fix ("run with --create").
absl::StatusOr<SourceState> PrepareSource(pg::ReplicationConnection& conn,
                                          const SourceOptions& options);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_SOURCE_SETUP_H_
