// Writes a base snapshot of a live test database into an ObjectStore the way the manifest
// contract describes it (base segments of CopyRows, pg_dump pre/post-data, per-table
// checksums, sequences), independently of the agent's snapshotter.
#ifndef WALSHIP_TESTS_REPLAY_BASE_TEST_UTIL_H_
#define WALSHIP_TESTS_REPLAY_BASE_TEST_UTIL_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/pg/copy.h"
#include "agent/pg/pg_connection.h"
#include "proto/byte_io.h"
#include "proto/core/status_macros.h"
#include "proto/segment_writer.h"
#include "proto/walship.pb.h"
#include "replay/load/base_loader.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/row_digest_witness.h"
#include "tests/testing/subprocess.h"

namespace walship::replay::testing {

inline absl::StatusOr<std::string> DumpSection(const std::string& conninfo,
                                               const std::string& section) {
  WALSHIP_ASSIGN_OR_RETURN(
      walship::testing::SubprocessResult result,
      walship::testing::Subprocess::Run({"/usr/lib/postgresql/15/bin/pg_dump", "--schema-only",
                                         "--no-owner", "--no-privileges",
                                         absl::StrCat("--section=", section), "-d", conninfo}));
  if (!result.ok()) return absl::InternalError(absl::StrCat("pg_dump: ", result.stderr_text));
  return result.stdout_text;
}

// Adds table `t` (oid, name, replica identity) of schema public to `manifest`, its rows
// copied in chunks of `rows_per_segment` rows into base segments in `store`.
inline absl::Status AddBaseTable(sinks::ObjectStore* store, agent::pg::PgConnection& conn,
                                 const std::vector<std::optional<std::string>>& t, uint64_t lsn,
                                 int rows_per_segment, v1::BaseManifest* manifest) {
  const sinks::StreamId& stream = TestStream();
  v1::BaseTable* table = manifest->add_tables();
  v1::Relation* relation = table->mutable_relation();
  relation->set_oid(std::stoul(*t[0]));
  relation->set_schema("public");
  relation->set_table(*t[1]);
  relation->set_replica_identity(*t[2] == "f" ? v1::REPLICA_IDENTITY_FULL
                                              : v1::REPLICA_IDENTITY_DEFAULT);
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult columns,
      conn.Query("SELECT a.attname, a.atttypid, CASE WHEN tn.nspname = 'pg_catalog' THEN "
                  "ty.typname ELSE tn.nspname || '.' || ty.typname END, a.atttypmod, "
                  "coalesce(a.attnum = ANY(pk.conkey), false) FROM pg_attribute a JOIN pg_type "
                  "ty ON ty.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = ty.typnamespace "
                  "LEFT JOIN pg_constraint pk ON pk.conrelid = a.attrelid AND pk.contype = 'p' "
                  "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY "
                  "a.attnum",
                  {*t[0]}));
  std::vector<std::string> names;
  for (const auto& c : columns.rows) {
    v1::Column* column = relation->add_columns();
    column->set_name(*c[0]);
    column->set_type_oid(std::stoul(*c[1]));
    column->set_type_name(*c[2]);
    column->set_type_modifier(std::stoi(*c[3]));
    column->set_key(*c[4] == "t" || relation->replica_identity() == v1::REPLICA_IDENTITY_FULL);
    names.push_back(agent::pg::QuoteIdent(*c[0]));
  }
  std::string quoted = agent::pg::QuoteQualified("public", *t[1]);
  WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> sum,
                           conn.QueryValue(TableChecksumSql(quoted)));
  table->set_checksum(sum.value_or(""));
  // COPY out, chunked into base segments.
  WALSHIP_RETURN_IF_ERROR(agent::pg::BeginCopy(
      conn, absl::StrCat("COPY ", quoted, " (", absl::StrJoin(names, ", "), ") TO STDOUT"),
      agent::pg::CopyDirection::kOut));
  std::vector<std::string> chunks(1);
  std::vector<uint64_t> counts(1, 0);
  std::vector<std::string> lines;
  std::string line;
  while (true) {
    line.clear();
    WALSHIP_ASSIGN_OR_RETURN(std::optional<size_t> row, agent::pg::AppendCopyRow(conn, &line));
    if (!row.has_value()) break;
    lines.push_back(line);
    if (counts.back() == static_cast<uint64_t>(rows_per_segment)) {
      chunks.emplace_back();
      counts.push_back(0);
    }
    chunks.back().append(line);
    ++counts.back();
  }
  WALSHIP_RETURN_IF_ERROR(agent::pg::CopyResult(conn).status());
  // Tables alternate between the two digests a manifest may carry: the row digest of
  // format 3 (odd positions) and the sorted checksum of older bases (even), so restores
  // check both.
  if (manifest->tables_size() % 2 == 0) {
    table->clear_checksum();
    table->set_row_digest(walship::testing::WitnessRowDigest(lines));
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    v1::SegmentHeader header;
    header.set_codec(v1::CODEC_ZSTD);
    header.set_kind(v1::BASE_SEGMENT);
    header.set_system_id(stream.system_id);
    header.set_slot(stream.slot);
    proto::StringByteSink sink;
    WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::SegmentWriter> writer,
                             proto::SegmentWriter::Create(&sink, header));
    v1::Record def;
    *def.mutable_relation_def() = *relation;
    WALSHIP_RETURN_IF_ERROR(writer->Add(def));
    v1::Record rows;
    rows.mutable_copy_rows()->set_relation_oid(relation->oid());
    rows.mutable_copy_rows()->set_row_count(counts[i]);
    rows.mutable_copy_rows()->set_data(chunks[i]);
    WALSHIP_RETURN_IF_ERROR(writer->Add(rows));
    WALSHIP_RETURN_IF_ERROR(writer->Finish(0));
    std::string key = sinks::BaseSegmentKey(stream, Lsn(lsn), "public", *t[1], i);
    table->set_bytes(table->bytes() + sink.size());
    WALSHIP_RETURN_IF_ERROR(store->Put(key, sink.Release()));
    table->add_object_keys(key);
    table->set_row_count(table->row_count() + counts[i]);
  }
  return absl::OkStatus();
}

// Adds every sequence of the database, with the column owning it, to `manifest`.
inline absl::Status AddSequences(agent::pg::PgConnection& conn, v1::BaseManifest* manifest) {
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult sequences,
      conn.Query("SELECT s.schemaname, s.sequencename, coalesce(s.last_value, s.start_value), "
                  "s.last_value IS NOT NULL, tn.nspname || '.' || t.relname, a.attname FROM "
                  "pg_sequences s JOIN pg_namespace sn ON sn.nspname = s.schemaname JOIN "
                  "pg_class sc ON sc.relname = s.sequencename AND sc.relnamespace = sn.oid LEFT "
                  "JOIN pg_depend d ON d.objid = sc.oid AND d.classid = 'pg_class'::regclass AND "
                  "d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LEFT JOIN "
                  "pg_class t ON t.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = "
                  "t.relnamespace LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND "
                  "a.attnum = d.refobjsubid"));
  for (const auto& s : sequences.rows) {
    v1::SequenceValue* sequence = manifest->add_sequences();
    sequence->set_schema(*s[0]);
    sequence->set_name(*s[1]);
    sequence->set_last_value(std::stoll(*s[2]));
    sequence->set_is_called(*s[3] == "t");
    if (s[4]) sequence->set_owned_by_table(*s[4]);
    if (s[5]) sequence->set_owned_by_column(*s[5]);
  }
  return absl::OkStatus();
}

// Every table of schema public, copied in chunks of `rows_per_segment` rows.
inline absl::StatusOr<v1::BaseManifest> WriteBase(sinks::ObjectStore* store,
                                                  const std::string& conninfo, uint64_t lsn,
                                                  int64_t time_us, int rows_per_segment = 300) {
  const sinks::StreamId& stream = TestStream();
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<agent::pg::PgConnection> conn,
                           agent::pg::PgConnection::Connect(conninfo, agent::pg::ConnectionKind::kNormal));
  v1::BaseManifest manifest;
  manifest.set_format_version(1);
  manifest.set_system_id(stream.system_id);
  manifest.set_slot(stream.slot);
  manifest.set_snapshot_lsn(lsn);
  manifest.set_snapshot_time_us(time_us);
  manifest.set_started_time_us(time_us);
  manifest.set_finished_time_us(time_us + 1000000);
  WALSHIP_ASSIGN_OR_RETURN(std::string pre, DumpSection(conninfo, "pre-data"));
  WALSHIP_ASSIGN_OR_RETURN(std::string post, DumpSection(conninfo, "post-data"));
  manifest.set_pre_data_sql(pre);
  manifest.set_post_data_sql(post);
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult tables,
      conn->Query("SELECT c.oid, c.relname, c.relreplident FROM pg_class c JOIN pg_namespace n "
                  "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
                  "ORDER BY c.relname"));
  for (const auto& t : tables.rows) {
    WALSHIP_RETURN_IF_ERROR(AddBaseTable(store, *conn, t, lsn, rows_per_segment, &manifest));
  }
  WALSHIP_RETURN_IF_ERROR(AddSequences(*conn, &manifest));
  WALSHIP_RETURN_IF_ERROR(
      store->Put(sinks::BaseManifestKey(stream, Lsn(lsn)), manifest.SerializeAsString()));
  return manifest;
}

}  // namespace walship::replay::testing

#endif  // WALSHIP_TESTS_REPLAY_BASE_TEST_UTIL_H_
