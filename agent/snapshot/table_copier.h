// Copies one published table, inside the imported snapshot, into base segments
// (walship.proto "Base snapshots") written to every object store.
#ifndef WALSHIP_AGENT_SNAPSHOT_TABLE_COPIER_H_
#define WALSHIP_AGENT_SNAPSHOT_TABLE_COPIER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"
#include "agent/snapshot/snapshot_catalog.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::agent::snapshot {

// Where and how a table's segments go. Pointers are borrowed and must outlive the copy.
struct CopyTarget {
  const sinks::StreamId* stream = nullptr;
  Lsn snapshot_lsn;
  // Header of every base segment (kind BASE_SEGMENT, codec, session, source).
  const v1::SegmentHeader* header = nullptr;
  std::vector<sinks::ObjectStore*> stores;
  // A CopyRows record is cut once it holds this many bytes of COPY text.
  uint64_t batch_bytes = 1 << 20;
  // A new object is started once the current one holds this many raw record bytes.
  uint64_t object_bytes = 64 << 20;
  int zstd_level = 3;
};

// Runs COPY (SELECT * FROM <table>) TO STDOUT on `conn` (whose transaction has imported the
// snapshot), writes segments <schema>.<table>.0.seg, .1.seg, ... (at least one, holding
// the RelationDef, even for an empty table) to every store with the same bytes, then
// computes the table's checksum on the same connection. The result has the relation,
// row count, checksum, object keys and stored bytes. `on_progress(rows, bytes)` receives
// increments as rows arrive. Stops with kCancelled when `*cancel` turns true; kInternal
// when the checksum's row count differs from the rows copied. Memory: one object's
// compressed bytes plus one batch. A store error stops the copy and is returned.
absl::StatusOr<v1::BaseTable> CopyTable(
    pg::PgConnection& conn, const PublishedTable& table, const CopyTarget& target,
    const std::function<void(uint64_t rows, uint64_t bytes)>& on_progress,
    const std::atomic<bool>* cancel);

struct LargeObjectsCopy {
  std::vector<std::string> keys;  // base segments written (none when there is no large object)
  uint64_t count = 0;
  uint64_t bytes = 0;  // of large object data
};

// Copies every large object as the snapshot `conn` imported sees it (read-only large
// objects read as of the transaction's snapshot) into base segments of LargeObjectChunk
// records, pieces of `chunk_bytes`, written to every store under the keys of a table named
// pg_catalog.pg_largeobject. A large object the agent's role may not read is an error that
// names it. Stops with kCancelled when `*cancel` turns true.
absl::StatusOr<LargeObjectsCopy> CopyLargeObjects(pg::PgConnection& conn,
                                                  const CopyTarget& target,
                                                  const std::atomic<bool>* cancel,
                                                  uint64_t chunk_bytes = 1 << 20);

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_TABLE_COPIER_H_
