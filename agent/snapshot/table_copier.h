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

// One part of a table's rows: the heap pages [first_page, end_page) by CTID range (end_page
// 0: to the table's end, whatever size it has grown to), so parts on different connections
// read disjoint rows and together every row. The whole table is {0, 0}. Chunks of a table
// share `object_numbers`, from which each stored object takes its number (unique across the
// chunks); null: numbers from 0.
struct TableChunk {
  uint64_t first_page = 0;
  uint64_t end_page = 0;
  std::atomic<uint32_t>* object_numbers = nullptr;
  bool whole() const { return first_page == 0 && end_page == 0; }
};

// Runs COPY (SELECT <columns> FROM <table> [WHERE ctid in the chunk]) TO STDOUT on `conn`
// (whose transaction has imported the snapshot) and writes segments
// <schema>.<table>.<n>.seg (at least one, holding the RelationDef, even for an empty
// table or chunk) to every store with the same bytes. The result has the relation, row
// count, row digest (BaseTable.row_digest, of the rows as copied), object keys and stored
// bytes, for this chunk. `on_progress(rows, bytes)` receives increments as rows arrive.
// Stops with kCancelled when `*cancel` turns true; kInternal when the server's count of
// the rows it sent differs from the rows received. Memory: one object's compressed bytes
// plus one batch. A store error stops the copy and is returned.
absl::StatusOr<v1::BaseTable> CopyTable(
    pg::PgConnection& conn, const PublishedTable& table, const TableChunk& chunk,
    const CopyTarget& target, const std::function<void(uint64_t rows, uint64_t bytes)>& on_progress,
    const std::atomic<bool>* cancel);

// The chunks of a base: which tables, or parts of tables, the snapshot workers copy, the
// largest first. With more than one job, a plain table of at least 2 * chunk_pages is cut
// into parts of about max(min_chunk_pages, all tables' pages / (2 * jobs)) pages (at most
// 64 parts), so that one big table no longer sets the length of the base. Pure function.
struct ChunkPlan {
  size_t table = 0;  // index into the tables
  uint64_t first_page = 0;
  uint64_t end_page = 0;  // 0: to the end
  uint64_t pages = 0;     // the expected size, for ordering
};
std::vector<ChunkPlan> PlanChunks(const std::vector<PublishedTable>& tables, int jobs,
                                  uint64_t min_chunk_pages = 8192);

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
