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
#include "absl/time/time.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"

namespace walship::agent::snapshot {

// BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '<name>'.
// kUnavailable when the snapshot is gone (its exporting connection ended).
absl::Status ImportSnapshot(pg::PgConnection& conn, absl::string_view snapshot_name);

struct PublishedTable {
  v1::Relation relation;  // oid, names, replica identity, columns with key flags
  bool partitioned = false;  // a partitioned table (published via its root)
  double estimated_rows = 0;  // pg_class.reltuples, 0 when unknown
  // Its size in pages (of its partitions for a partitioned table) when the catalog was read.
  uint64_t pages = 0;
  // A plain table on a server that scans CTID ranges (PostgreSQL 14+): its base may be
  // copied in chunks of pages on several connections.
  bool splittable = false;
};

// The tables of `publication` (pg_publication_tables), by schema and name.
// kFailedPrecondition when the publication does not exist.
absl::StatusOr<std::vector<PublishedTable>> ReadPublishedTables(pg::PgConnection& conn,
                                                                absl::string_view publication);

// The SQL source of a table's rows: "ONLY schema.table" for a plain table (its inheritance
// children are published on their own), "schema.table" for a partitioned root.
std::string TableSource(const PublishedTable& table);

// Takes ACCESS SHARE locks on every user table inside `snapshot_conn`'s transaction (held
// until it ends, so no DDL or TRUNCATE can commit on them while the base is copied, and
// pg_dump finds nothing to wait for), then checks with `fresh_conn` (no snapshot) that no
// table was created or dropped and no published table in `tables` changed between the
// snapshot and the locks: same name, relfilenode (TRUNCATE and table rewrites change it) and
// columns. Catalog lookups of COPY use the current catalog, not the snapshot, and a
// rewritten table reads as empty under an older snapshot, so a change in that window would
// give rows that do not match the snapshot's schema. kAborted names the changed table
// (take a new snapshot); the wait for the locks is bounded by `lock_timeout`.
absl::Status LockAndCheckTables(pg::PgConnection& snapshot_conn, pg::PgConnection& fresh_conn,
                                const std::vector<PublishedTable>& tables,
                                absl::Duration lock_timeout);

// Every user sequence (not in pg_catalog, information_schema, pg_toast, walship) with its
// last_value / is_called and the column that owns it.
absl::StatusOr<std::vector<v1::SequenceValue>> ReadSequences(pg::PgConnection& conn);

// The roles that the privileges of the schema a base dumps name: grantees and grantors of
// every ACL outside the system schemas (and walship's), the roles of default privileges and
// of row-level security policies. Never their passwords.
absl::StatusOr<std::vector<v1::BaseRole>> ReadRolesNamed(pg::PgConnection& conn);

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_SNAPSHOT_CATALOG_H_
