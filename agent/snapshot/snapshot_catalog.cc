// Catalog queries for base snapshots.
#include "agent/snapshot/snapshot_catalog.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"

namespace walship::agent::snapshot {
namespace {

absl::StatusOr<uint64_t> ParseUint(const std::optional<std::string>& text, absl::string_view what) {
  uint64_t value = 0;
  if (!text || !absl::SimpleAtoi(*text, &value)) {
    return absl::DataLossError(absl::StrCat("unexpected ", what, " in a catalog query"));
  }
  return value;
}

v1::ReplicaIdentity IdentityFromChar(absl::string_view c) {
  if (c == "d") return v1::REPLICA_IDENTITY_DEFAULT;
  if (c == "n") return v1::REPLICA_IDENTITY_NOTHING;
  if (c == "f") return v1::REPLICA_IDENTITY_FULL;
  if (c == "i") return v1::REPLICA_IDENTITY_INDEX;
  return v1::REPLICA_IDENTITY_UNSPECIFIED;
}

constexpr char kTablesSql[] = R"sql(
SELECT c.oid, n.nspname, c.relname, c.relreplident, c.relkind, greatest(c.reltuples, 0),
       CASE WHEN c.relkind = 'r'
            THEN pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int
            ELSE (SELECT coalesce(sum(pg_catalog.pg_relation_size(p.relid)), 0)
                  FROM pg_catalog.pg_partition_tree(c.oid) p)
                 / current_setting('block_size')::int END,
       c.relkind = 'r' AND current_setting('server_version_num')::int >= 140000
FROM pg_catalog.pg_publication_tables pt
JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
WHERE pt.pubname = $1
ORDER BY n.nspname, c.relname)sql";

// The columns pgoutput sends (stored generated columns are computed again by the target).
// Type names as pgoutput's Relation/Type messages give them: the bare typname for built-in
// types (OID below 10000), "schema.typname" for the others.
constexpr char kColumnsSql[] = R"sql(
SELECT c.oid, a.attname, a.atttypid,
       CASE WHEN t.oid < 10000 THEN t.typname::text ELSE tn.nspname || '.' || t.typname END,
       a.atttypmod,
       coalesce(CASE c.relreplident
         WHEN 'f' THEN true
         WHEN 'n' THEN false
         WHEN 'i' THEN a.attnum = ANY ((SELECT i.indkey FROM pg_catalog.pg_index i
                                        WHERE i.indrelid = c.oid AND i.indisreplident
                                        LIMIT 1)::int2[])
         ELSE a.attnum = ANY ((SELECT i.indkey FROM pg_catalog.pg_index i
                               WHERE i.indrelid = c.oid AND i.indisprimary LIMIT 1)::int2[])
       END, false)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attgenerated = ''
ORDER BY c.oid, a.attnum)sql";

constexpr char kSequencesSql[] = R"sql(
SELECT n.nspname, c.relname, dn.nspname || '.' || dc.relname, a.attname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass
     AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
     AND d.deptype IN ('a', 'i')
LEFT JOIN pg_catalog.pg_class dc ON dc.oid = d.refobjid
LEFT JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE c.relkind = 'S'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'walship')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY n.nspname, c.relname)sql";

// One row per table: the parts of its definition a COPY depends on.
constexpr char kShapeSql[] = R"sql(
SELECT c.oid, n.nspname || '.' || c.relname, c.relfilenode,
       (SELECT string_agg(a.attnum || ':' || a.attname || ':' || a.atttypid || ':' ||
                          a.atttypmod || ':' || a.attisdropped, ',' ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY ($1::oid[])
ORDER BY c.oid)sql";

// Every user table (what pg_dump dumps and FOR ALL TABLES publishes), oid → quoted name.
constexpr char kUserTablesSql[] = R"sql(
SELECT c.oid, n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'walship')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%')sql";

absl::StatusOr<std::map<std::string, std::string>> ReadUserTables(pg::PgConnection& conn,
                                                                  absl::string_view what) {
  WALSHIP_ASSIGN_OR_RETURN(pg::QueryResult result, conn.Query(kUserTablesSql, {}, what));
  std::map<std::string, std::string> tables;
  for (const auto& row : result.rows) {
    tables[row[0].value_or("")] = pg::QuoteQualified(row[1].value_or(""), row[2].value_or(""));
  }
  return tables;
}

absl::StatusOr<std::map<std::string, std::string>> ReadShapes(pg::PgConnection& conn,
                                                              const std::string& oids,
                                                              absl::string_view what) {
  WALSHIP_ASSIGN_OR_RETURN(pg::QueryResult result, conn.Query(kShapeSql, {oids}, what));
  std::map<std::string, std::string> shapes;
  for (const auto& row : result.rows) {
    shapes[row[0].value_or("")] =
        absl::StrCat(row[1].value_or(""), " relfilenode ", row[2].value_or(""), " columns ",
                     row[3].value_or(""));
  }
  return shapes;
}

}  // namespace

absl::Status LockAndCheckTables(pg::PgConnection& snapshot_conn, pg::PgConnection& fresh_conn,
                                const std::vector<PublishedTable>& tables,
                                absl::Duration lock_timeout) {
  // The publication's table list comes from the live catalog (pg_publication_tables scans
  // it afresh) while pg_dump reads the snapshot's: every user table is locked (pg_dump
  // locks them all too, and must then find no lock to wait for), and a table created or
  // dropped in between would be in one list and not the other.
  WALSHIP_ASSIGN_OR_RETURN(auto listed,
                           ReadUserTables(snapshot_conn, "listing the snapshot's tables"));
  std::string lock_list;
  for (const auto& [oid, name] : listed) {
    absl::StrAppend(&lock_list, lock_list.empty() ? "" : ", ", "ONLY ", name);
  }
  if (!lock_list.empty()) {
    WALSHIP_RETURN_IF_ERROR(snapshot_conn.Exec(
        absl::StrFormat("SET LOCAL lock_timeout = '%dms'",
                        std::max<int64_t>(1, absl::ToInt64Milliseconds(lock_timeout))),
        "setting the lock timeout"));
    absl::Status locked = snapshot_conn.Exec(
        absl::StrCat("LOCK TABLE ", lock_list, " IN ACCESS SHARE MODE"), "locking the tables");
    if (!locked.ok()) {
      // A table dropped or renamed since the snapshot (42P01), or a lock held too long by a
      // DDL transaction (55P03): a new snapshot sees the change or gets the lock.
      if (absl::StrContains(locked.message(), "does not exist") ||
          absl::StrContains(locked.message(), "lock timeout")) {
        return absl::AbortedError(absl::StrCat(locked.message(),
                                               " (a table changed while the base snapshot was "
                                               "starting; take a new snapshot)"));
      }
      return locked;
    }
  }
  WALSHIP_ASSIGN_OR_RETURN(auto live, ReadUserTables(fresh_conn, "listing the current tables"));
  for (const auto& [a, b] : {std::pair(&listed, &live), std::pair(&live, &listed)}) {
    for (const auto& [oid, name] : *a) {
      if (b->count(oid) == 0) {
        return absl::AbortedError(absl::StrFormat(
            "table %s was %s after the base snapshot was exported; take a new snapshot", name,
            a == &listed ? "dropped" : "created"));
      }
    }
  }
  if (tables.empty()) return absl::OkStatus();
  std::string oids = "{";
  for (const PublishedTable& table : tables) {
    absl::StrAppend(&oids, oids.size() > 1 ? "," : "", table.relation.oid());
  }
  oids += "}";
  WALSHIP_ASSIGN_OR_RETURN(auto before, ReadShapes(snapshot_conn, oids,
                                                   "reading the tables' definitions in the "
                                                   "snapshot"));
  WALSHIP_ASSIGN_OR_RETURN(auto now,
                           ReadShapes(fresh_conn, oids, "reading the tables' current definitions"));
  for (const auto& [oid, shape] : before) {
    auto it = now.find(oid);
    if (it == now.end() || it->second != shape) {
      return absl::AbortedError(absl::StrFormat(
          "table %s changed (DDL or TRUNCATE) after the base snapshot was exported: was {%s}, "
          "now {%s}; take a new snapshot",
          shape.substr(0, shape.find(' ')), shape, it == now.end() ? "dropped" : it->second));
    }
  }
  return absl::OkStatus();
}

absl::Status ImportSnapshot(pg::PgConnection& conn, absl::string_view snapshot_name) {
  absl::Status status = conn.Exec(
      absl::StrCat("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT ",
                   pg::QuoteLiteral(snapshot_name)),
      "importing the base snapshot");
  // SQLSTATE 22023 "invalid snapshot identifier": the exporting connection ended, which a
  // new snapshot fixes; everything else keeps the code the connection chose.
  if (!status.ok() && absl::StrContains(status.message(), "invalid snapshot identifier")) {
    return absl::UnavailableError(absl::StrCat(
        status.message(), " (the exported snapshot is gone: its replication connection ended)"));
  }
  return status;
}

std::string TableSource(const PublishedTable& table) {
  std::string name = pg::QuoteQualified(table.relation.schema(), table.relation.table());
  return table.partitioned ? name : absl::StrCat("ONLY ", name);
}

absl::StatusOr<std::vector<PublishedTable>> ReadPublishedTables(pg::PgConnection& conn,
                                                                absl::string_view publication) {
  WALSHIP_ASSIGN_OR_RETURN(auto exists,
                           conn.Query("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1",
                                      {std::string(publication)}, "looking up the publication"));
  if (exists.rows.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "publication \"%s\" does not exist at the source (create it, or start the agent "
        "with --create)",
        publication));
  }
  WALSHIP_ASSIGN_OR_RETURN(
      pg::QueryResult tables,
      conn.Query(kTablesSql, {std::string(publication)}, "listing the publication's tables"));
  std::vector<PublishedTable> out;
  std::map<uint32_t, size_t> by_oid;
  std::string oids = "{";
  for (const auto& row : tables.rows) {
    PublishedTable table;
    WALSHIP_ASSIGN_OR_RETURN(uint64_t oid, ParseUint(row[0], "table oid"));
    table.relation.set_oid(static_cast<uint32_t>(oid));
    table.relation.set_schema(row[1].value_or(""));
    table.relation.set_table(row[2].value_or(""));
    table.relation.set_replica_identity(IdentityFromChar(row[3].value_or("")));
    table.partitioned = row[4].value_or("") == "p";
    double rows = 0;
    if (row[5] && absl::SimpleAtod(*row[5], &rows)) table.estimated_rows = rows;
    if (!row[6] || !absl::SimpleAtoi(*row[6], &table.pages)) table.pages = 0;
    table.splittable = row[7].value_or("f") == "t";
    if (out.size() > 0) oids += ",";
    absl::StrAppend(&oids, oid);
    by_oid[table.relation.oid()] = out.size();
    out.push_back(std::move(table));
  }
  oids += "}";
  if (out.empty()) return out;
  WALSHIP_ASSIGN_OR_RETURN(pg::QueryResult columns,
                           conn.Query(kColumnsSql, {oids}, "reading the tables' columns"));
  for (const auto& row : columns.rows) {
    WALSHIP_ASSIGN_OR_RETURN(uint64_t oid, ParseUint(row[0], "table oid"));
    auto it = by_oid.find(static_cast<uint32_t>(oid));
    if (it == by_oid.end()) continue;
    v1::Column* column = out[it->second].relation.add_columns();
    column->set_name(row[1].value_or(""));
    WALSHIP_ASSIGN_OR_RETURN(uint64_t type_oid, ParseUint(row[2], "type oid"));
    column->set_type_oid(static_cast<uint32_t>(type_oid));
    column->set_type_name(row[3].value_or(""));
    int32_t typmod = -1;
    if (!row[4] || !absl::SimpleAtoi(*row[4], &typmod)) {
      return absl::DataLossError("unexpected type modifier in a catalog query");
    }
    column->set_type_modifier(typmod);
    column->set_key(row[5].value_or("f") == "t");
  }
  return out;
}

absl::StatusOr<std::vector<v1::SequenceValue>> ReadSequences(pg::PgConnection& conn) {
  WALSHIP_ASSIGN_OR_RETURN(pg::QueryResult result,
                           conn.Query(kSequencesSql, {}, "listing sequences"));
  std::vector<v1::SequenceValue> out;
  for (const auto& row : result.rows) {
    v1::SequenceValue sequence;
    sequence.set_schema(row[0].value_or(""));
    sequence.set_name(row[1].value_or(""));
    sequence.set_owned_by_table(row[2].value_or(""));
    sequence.set_owned_by_column(row[3].value_or(""));
    WALSHIP_ASSIGN_OR_RETURN(
        pg::QueryResult value,
        conn.Query(
            absl::StrCat("SELECT last_value, is_called FROM ",
                         pg::QuoteQualified(sequence.schema(), sequence.name())),
            {}, absl::StrFormat("reading sequence \"%s.%s\"", sequence.schema(), sequence.name())));
    if (value.rows.size() != 1) return absl::DataLossError("unexpected sequence query result");
    int64_t last_value = 0;
    if (!value.rows[0][0] || !absl::SimpleAtoi(*value.rows[0][0], &last_value)) {
      return absl::DataLossError("unexpected sequence value");
    }
    sequence.set_last_value(last_value);
    sequence.set_is_called(value.rows[0][1].value_or("f") == "t");
    out.push_back(std::move(sequence));
  }
  return out;
}

namespace {

constexpr char kRolesNamedSql[] = R"sql(
WITH user_ns AS (
  SELECT oid FROM pg_catalog.pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'walship')
    AND nspname NOT LIKE 'pg\_%'),
acls AS (
  SELECT c.relacl AS acl FROM pg_catalog.pg_class c
  WHERE c.relnamespace IN (SELECT oid FROM user_ns) AND c.relacl IS NOT NULL
  UNION ALL
  SELECT a.attacl FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  WHERE c.relnamespace IN (SELECT oid FROM user_ns) AND a.attacl IS NOT NULL
  UNION ALL
  SELECT n.nspacl FROM pg_catalog.pg_namespace n
  WHERE n.oid IN (SELECT oid FROM user_ns) AND n.nspacl IS NOT NULL
  UNION ALL
  SELECT t.typacl FROM pg_catalog.pg_type t
  WHERE t.typnamespace IN (SELECT oid FROM user_ns) AND t.typacl IS NOT NULL
  UNION ALL
  SELECT p.proacl FROM pg_catalog.pg_proc p
  WHERE p.pronamespace IN (SELECT oid FROM user_ns) AND p.proacl IS NOT NULL
  UNION ALL
  SELECT d.defaclacl FROM pg_catalog.pg_default_acl d),
named AS (
  SELECT e.grantee AS role FROM acls, pg_catalog.aclexplode(acls.acl) e
  UNION SELECT e.grantor FROM acls, pg_catalog.aclexplode(acls.acl) e
  UNION SELECT d.defaclrole FROM pg_catalog.pg_default_acl d
  UNION SELECT unnest(p.polroles) FROM pg_catalog.pg_policy p)
SELECT r.rolname, r.rolcanlogin, r.rolinherit
FROM named JOIN pg_catalog.pg_roles r ON r.oid = named.role
ORDER BY r.rolname)sql";

}  // namespace

absl::StatusOr<std::vector<v1::BaseRole>> ReadRolesNamed(pg::PgConnection& conn) {
  WALSHIP_ASSIGN_OR_RETURN(pg::QueryResult result,
                           conn.Query(kRolesNamedSql, {}, "listing the roles the schema names"));
  std::vector<v1::BaseRole> out;
  for (const auto& row : result.rows) {
    v1::BaseRole role;
    role.set_name(row[0].value_or(""));
    role.set_login(row[1].value_or("f") == "t");
    role.set_inherit(row[2].value_or("f") == "t");
    out.push_back(std::move(role));
  }
  return out;
}

}  // namespace walship::agent::snapshot
