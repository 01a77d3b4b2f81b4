// SnapshotSource: what the base snapshotter needs from the source database, as interfaces so
// that its tests can use in-memory fakes. PgSnapshotSource (pg_snapshot_source.h) is the
// libpq implementation over the catalog, copier and pg_dump functions.
//
// The snapshotter opens one ReplicationSession that exports a snapshot and stays idle, then
// SnapshotSessions that import it: one for the catalog (which also holds the table locks
// and copies the large objects) and one per worker.
#ifndef WALSHIP_AGENT_SNAPSHOT_SNAPSHOT_SOURCE_H_
#define WALSHIP_AGENT_SNAPSHOT_SNAPSHOT_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/pg/replication_session.h"
#include "agent/snapshot/snapshot_catalog.h"
#include "agent/snapshot/table_copier.h"
#include "proto/walship.pb.h"

namespace walship::agent::snapshot {

// An ordinary session whose transaction imported the exported snapshot. Not thread-safe:
// one thread at a time. Closing it (destroying the object) ends its transaction.
class SnapshotSession {
 public:
  virtual ~SnapshotSession() = default;

  // The source's clock now, Unix epoch microseconds.
  virtual absl::StatusOr<int64_t> SourceTimeUs() = 0;
  virtual absl::StatusOr<std::vector<PublishedTable>> ReadPublishedTables(
      absl::string_view publication) = 0;
  virtual absl::StatusOr<std::vector<v1::SequenceValue>> ReadSequences() = 0;
  virtual absl::StatusOr<std::vector<v1::BaseRole>> ReadRolesNamed() = 0;
  // Takes the tables' locks in this session and checks them against the live catalog
  // (see LockAndCheckTables in snapshot_catalog.h; kAborted when one changed).
  virtual absl::Status LockAndCheckTables(const std::vector<PublishedTable>& tables,
                                          absl::Duration lock_timeout) = 0;
  // See CopyTable and CopyLargeObjects in table_copier.h.
  virtual absl::StatusOr<v1::BaseTable> CopyTable(
      const PublishedTable& table, const TableChunk& chunk, const CopyTarget& target,
      const std::function<void(uint64_t rows, uint64_t bytes)>& on_progress,
      const std::atomic<bool>* cancel) = 0;
  virtual absl::StatusOr<LargeObjectsCopy> CopyLargeObjects(const CopyTarget& target,
                                                            const std::atomic<bool>* cancel) = 0;
};

// Opens sessions to one source. Thread-safe: workers open their sessions concurrently.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;

  // A replication session (to export the snapshot from).
  virtual absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> OpenReplication() = 0;
  // An ordinary session that has imported `snapshot_name`.
  virtual absl::StatusOr<std::unique_ptr<SnapshotSession>> OpenInSnapshot(
      const std::string& snapshot_name) = 0;
  // The schema section ("pre-data", "post-data") as pg_dump writes it from the snapshot.
  virtual absl::StatusOr<std::string> DumpSchema(const std::string& snapshot_name,
                                                 absl::string_view section) = 0;
};

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_SNAPSHOT_SOURCE_H_
