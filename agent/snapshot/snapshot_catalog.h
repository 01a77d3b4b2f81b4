// Catalog reads a base snapshot makes inside the exported snapshot: the publication's
// tables and their descriptions, sequences, per-table row counts and checksums.
// Every function takes a connection whose transaction has imported the snapshot
// (ImportSnapshot); none of them is thread-safe with respect to that connection.
#ifndef WALSHIP_AGENT_SNAPSHOT_SNAPSHOT_CATALOG_H_
#define WALSHIP_AGENT_SNAPSHOT_SNAPSHOT_CATALOG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"

namespace walship::snapshot {

// BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '<name>'.
// kUnavailable when the snapshot is gone (its exporting connection ended).
absl::Status ImportSnapshot(pg::PgConnection& conn, absl::string_view snapshot_name);

struct PublishedTable {
  v1::Relation relation;  // oid, names, replica identity, columns with key flags
  bool partitioned = false;  // a partitioned table (published via its root)
  double estimated_rows = 0;  // pg_class.reltuples, 0 when unknown
};

// The tables of `publication` (pg_publication_tables), by schema and name.
// kFailedPrecondition when the publication does not exist.
absl::StatusOr<std::vector<PublishedTable>> ReadPublishedTables(pg::PgConnection& conn,
                                                                absl::string_view publication);

// The SQL source of a table's rows: "ONLY schema.table" for a plain table (its inheritance
// children are published on their own), "schema.table" for a partitioned root.
std::string TableSource(const PublishedTable& table);

// `SELECT count(*), md5(...)` exactly as BaseTable.checksum documents.
struct TableChecksum {
  uint64_t row_count = 0;
  std::string md5;
};
absl::StatusOr<TableChecksum> ComputeTableChecksum(pg::PgConnection& conn,
                                                   const PublishedTable& table);

// Every user sequence (not in pg_catalog, information_schema, pg_toast, walship) with its
// last_value / is_called and the column that owns it.
absl::StatusOr<std::vector<v1::SequenceValue>> ReadSequences(pg::PgConnection& conn);

}  // namespace walship::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_SNAPSHOT_CATALOG_H_
