// Base snapshots against a real PostgreSQL 15: contents equal to the exported snapshot under
// concurrent writes (no transaction lost or doubled around snapshot_lsn), manifest fields,
// checksums, --snapshot-jobs 1 vs 4. Interrupted and cancelled snapshots:
// base_snapshot_interrupt_test.cc; DDL races and the DDL-capturing event triggers:
// base_snapshot_ddl_test.cc.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/pg/pg_connection.h"
#include "agent/snapshot/base_snapshotter.h"
#include "agent/snapshot/ddl_capture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/core/lsn.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"
#include "tests/integration/base_snapshot_fixture.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {
namespace {

using ::testing::HasSubstr;

// Rows of a COPY ... TO STDOUT, one string per line (without the newline).
std::vector<std::string> CopyOut(PGconn* conn, const std::string& sql) {
  std::vector<std::string> lines;
  PGresult* started = PQexec(conn, sql.c_str());
  EXPECT_EQ(PQresultStatus(started), PGRES_COPY_OUT) << PQerrorMessage(conn);
  PQclear(started);
  char* buffer = nullptr;
  int len;
  while ((len = PQgetCopyData(conn, &buffer, 0)) > 0) {
    lines.emplace_back(buffer, static_cast<size_t>(len) - 1);
    PQfreemem(buffer);
  }
  while (PGresult* r = PQgetResult(conn)) PQclear(r);
  return lines;
}

std::string QueryOne(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  std::string value;
  if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
    value = PQgetvalue(result, 0, 0);
  } else {
    ADD_FAILURE() << sql << ": " << PQerrorMessage(conn);
  }
  PQclear(result);
  return value;
}

// Sequential writer: transaction i inserts customer "w<i>" and updates one events row.
void RunWriter(const std::string& conninfo, std::atomic<bool>* stop, std::atomic<int>* done) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  for (int i = 0; !stop->load(); ++i) {
    std::string sql = absl::StrCat("BEGIN; INSERT INTO customers (name) VALUES ('w", i,
                                   "'); UPDATE events SET payload = 'u", i,
                                   "' WHERE id = ", 1 + (i * 7919) % 100000, "; COMMIT;");
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      ADD_FAILURE() << PQerrorMessage(conn);
      PQclear(result);
      break;
    }
    PQclear(result);
    done->store(i + 1);
  }
  PQfinish(conn);
}

// The manifest's fields: the server's identity, the stream's names, times, the session,
// the schema's DDL and the sequences.
void ExpectManifestFields(const v1::BaseManifest& manifest, PGconn* witness, absl::Time before) {
  EXPECT_EQ(manifest.format_version(), snapshot::kManifestFormatVersion);
  EXPECT_EQ(manifest.system_id(), QueryOne(witness,
                                           "SELECT system_identifier::text FROM "
                                           "pg_control_system()"));
  EXPECT_EQ(manifest.timeline(), 1u);
  EXPECT_EQ(manifest.database(), "crm");
  EXPECT_EQ(manifest.slot(), "walship");
  EXPECT_EQ(manifest.publication(), "walship");
  EXPECT_GT(manifest.snapshot_lsn(), 0u);
  EXPECT_GE(manifest.snapshot_time_us(), absl::ToUnixMicros(before) - 5000000);
  EXPECT_LE(manifest.started_time_us(), manifest.finished_time_us());
  EXPECT_EQ(manifest.session().settings().at("TimeZone"), "UTC");
  EXPECT_THAT(manifest.session().server_version(), ::testing::StartsWith("15"));
  EXPECT_EQ(manifest.session().server_encoding(), "UTF8");
  EXPECT_THAT(manifest.pre_data_sql(), HasSubstr("CREATE TABLE public.events"));
  EXPECT_THAT(manifest.pre_data_sql(), HasSubstr("CREATE TYPE public.deal_stage AS ENUM"));
  EXPECT_THAT(manifest.post_data_sql(), HasSubstr("PRIMARY KEY (id)"));
  EXPECT_THAT(manifest.post_data_sql(), HasSubstr("CREATE INDEX customers_name"));
  ASSERT_EQ(manifest.tables_size(), 5);
  bool saw_customers_seq = false;
  for (const v1::SequenceValue& sequence : manifest.sequences()) {
    if (sequence.name() == "customers_id_seq") {
      saw_customers_seq = true;
      EXPECT_EQ(sequence.owned_by_table(), "public.customers");
      EXPECT_EQ(sequence.owned_by_column(), "id");
      EXPECT_GE(sequence.last_value(), 2000);
      EXPECT_TRUE(sequence.is_called());
    }
  }
  EXPECT_TRUE(saw_customers_seq);
  EXPECT_EQ(manifest.sequences_size(), 2);  // customers_id_seq, deals_id_seq
}

// The relations as the base describes them: keys, replica identity, type names, modifiers.
void ExpectRelations(const v1::BaseManifest& manifest) {
  const v1::BaseTable* odd = FindTable(manifest, "Odd Name");
  ASSERT_NE(odd, nullptr);
  EXPECT_EQ(odd->relation().replica_identity(), v1::REPLICA_IDENTITY_FULL);
  ASSERT_EQ(odd->relation().columns_size(), 2);
  EXPECT_TRUE(odd->relation().columns(0).key());
  EXPECT_EQ(odd->relation().columns(1).name(), "v.1");
  const v1::BaseTable* deals = FindTable(manifest, "deals");
  ASSERT_NE(deals, nullptr);
  EXPECT_EQ(deals->relation().replica_identity(), v1::REPLICA_IDENTITY_DEFAULT);
  EXPECT_TRUE(deals->relation().columns(0).key());
  EXPECT_FALSE(deals->relation().columns(1).key());
  EXPECT_EQ(deals->relation().columns(2).type_name(), "numeric");
  EXPECT_EQ(deals->relation().columns(2).type_modifier(), 786438);
  EXPECT_EQ(deals->relation().columns(3).type_name(), "public.deal_stage");
  EXPECT_EQ(deals->relation().columns(4).type_name(), "_text");
}

// Every table: the base's rows equal the witness's rows, and the manifest's count and
// checksum equal the witness's, in both stores (same bytes).
void ExpectTablesEqualTheWitness(const v1::BaseManifest& manifest, PGconn* witness,
                                 sinks::ObjectStore* store_a, sinks::ObjectStore* store_b) {
  for (const v1::BaseTable& table : manifest.tables()) {
    SCOPED_TRACE(table.relation().table());
    std::string qualified = pg::QuoteQualified(table.relation().schema(), table.relation().table());
    std::vector<std::string> expected =
        CopyOut(witness, absl::StrCat("COPY (SELECT * FROM ONLY ", qualified, ") TO STDOUT"));
    std::vector<std::string> actual = BaseRows(store_a, table);
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual.size(), expected.size());
    EXPECT_TRUE(actual == expected);
    EXPECT_EQ(table.row_count(), expected.size());
    EXPECT_TRUE(table.checksum().empty());
    EXPECT_EQ(table.row_digest(), testing::WitnessRowDigest(expected));
    ASSERT_FALSE(table.object_keys().empty());
    for (const std::string& key : table.object_keys()) {
      EXPECT_TRUE(absl::StartsWith(
          key, sinks::BaseDirKey({manifest.system_id(), "walship"}, Lsn(manifest.snapshot_lsn()))));
      ASSERT_OK_AND_ASSIGN(std::string a, store_a->Get(key));
      ASSERT_OK_AND_ASSIGN(std::string b, store_b->Get(key));
      EXPECT_TRUE(a == b) << key;
    }
  }
  EXPECT_GT(FindTable(manifest, "events")->object_keys_size(), 1);
  EXPECT_EQ(FindTable(manifest, "empty_table")->row_count(), 0u);
  EXPECT_EQ(FindTable(manifest, "empty_table")->row_digest(), std::string(32, '0'));
}

// The manifest is in both stores; the temporary slot is gone.
void ExpectStoredAndSlotGone(const v1::BaseManifest& manifest, PGconn* witness,
                             std::initializer_list<sinks::ObjectStore*> stores) {
  for (sinks::ObjectStore* store : stores) {
    ASSERT_OK_AND_ASSIGN(std::string data,
                         store->Get(sinks::BaseManifestKey({manifest.system_id(), "walship"},
                                                           Lsn(manifest.snapshot_lsn()))));
    v1::BaseManifest stored;
    ASSERT_TRUE(stored.ParseFromString(data));
    EXPECT_EQ(stored.snapshot_lsn(), manifest.snapshot_lsn());
  }
  EXPECT_EQ(QueryOne(witness,
                     "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE "
                     "'walship_core%'"),
            "0");
}

// Around snapshot_lsn: every writer transaction that committed before it is in the base,
// every one that committed at or after it is not (commit LSNs from the test_decoding slot).
void ExpectSnapshotPointSplitsTheWriter(const v1::BaseManifest& manifest, PGconn* witness,
                                        sinks::ObjectStore* store) {
  std::set<std::string> base_writer_rows;
  for (const std::string& line : BaseRows(store, *FindTable(manifest, "customers"))) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() > 1 && absl::StartsWith(fields[1], "w")) base_writer_rows.insert(fields[1]);
  }
  PGresult* changes = PQexec(witness,
                             "SELECT lsn::text, xid::text, data FROM "
                             "pg_logical_slot_get_changes('main', NULL, NULL)");
  ASSERT_EQ(PQresultStatus(changes), PGRES_TUPLES_OK) << PQerrorMessage(witness);
  std::map<std::string, std::string> name_by_xid;
  std::map<std::string, Lsn> commit_by_xid;
  for (int i = 0; i < PQntuples(changes); ++i) {
    std::string xid = PQgetvalue(changes, i, 1);
    std::string data = PQgetvalue(changes, i, 2);
    size_t at = data.find("name[text]:'w");
    if (absl::StartsWith(data, "table public.customers: INSERT:") && at != std::string::npos) {
      size_t start = at + 12;
      name_by_xid[xid] = data.substr(start, data.find('\'', start) - start);
    }
    if (absl::StartsWith(data, "COMMIT")) {
      ASSERT_OK_AND_ASSIGN(commit_by_xid[xid], Lsn::Parse(PQgetvalue(changes, i, 0)));
    }
  }
  PQclear(changes);
  int before_count = 0, after_count = 0;
  for (const auto& [xid, name] : name_by_xid) {
    ASSERT_TRUE(commit_by_xid.count(xid)) << xid;
    bool committed_before = commit_by_xid[xid] < Lsn(manifest.snapshot_lsn());
    EXPECT_EQ(base_writer_rows.count(name), committed_before ? 1u : 0u)
        << name << " committed at " << commit_by_xid[xid].ToString() << ", base at "
        << Lsn(manifest.snapshot_lsn()).ToString();
    (committed_before ? before_count : after_count)++;
  }
  EXPECT_EQ(static_cast<int>(base_writer_rows.size()), before_count);
  EXPECT_GT(before_count, 0);
  EXPECT_GT(after_count, 0) << "no writer transaction committed after the snapshot point";
}

TEST_F(BaseSnapshotTest, ConsistentUnderConcurrentWrites) {
  sinks::ObjectStore* store_a = NewStore();
  sinks::ObjectStore* store_b = NewStore();
  // A slot that exists before the base, as the agent's main slot does, read with
  // test_decoding to learn each writer transaction's commit LSN.
  ASSERT_OK(pg_->Psql("crm",
                      "SELECT pg_create_logical_replication_slot('main', "
                      "'test_decoding')")
                .status());

  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer(RunWriter, pg_->ConnInfo("crm"), &stop, &written);
  while (written.load() < 20) absl::SleepFor(absl::Milliseconds(5));

  // The witness: a transaction of our own that imports the same exported snapshot.
  PGconn* witness = PQconnectdb(pg_->ConnInfo("crm").c_str());
  ASSERT_EQ(PQstatus(witness), CONNECTION_OK);
  std::string exported_name;
  SnapshotOptions options = Options(4);
  options.object_bytes = 1 << 20;  // several objects for events
  options.min_chunk_pages = 64;    // and events copied in parts on several connections
  options.on_exported = [&](const std::string& name, uint64_t) {
    exported_name = name;
    std::string sql = absl::StrCat(
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '", name, "'");
    PGresult* result = PQexec(witness, sql.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQerrorMessage(witness);
    PQclear(result);
  };
  std::vector<BaseProgress> reports;
  absl::Time before = absl::Now();
  absl::StatusOr<v1::BaseManifest> taken = TakeBaseSnapshot(
      options, {store_a, store_b}, [&](const BaseProgress& p) { reports.push_back(p); });
  int written_after = written.load();
  stop.store(true);
  writer.join();
  ASSERT_TRUE(taken.ok()) << taken.status();
  const v1::BaseManifest& manifest = *taken;
  EXPECT_GT(written_after, 20) << "the writer should have run during the snapshot";

  ExpectManifestFields(manifest, witness, before);
  ExpectRelations(manifest);
  ExpectTablesEqualTheWitness(manifest, witness, store_a, store_b);
  EXPECT_GT(FindTable(manifest, "events")->chunks(), 1u);
  PQclear(PQexec(witness, "COMMIT"));
  ExpectStoredAndSlotGone(manifest, witness, {store_a, store_b});
  ExpectSnapshotPointSplitsTheWriter(manifest, witness, store_a);
  PQfinish(witness);

  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(reports.back().finished);
  EXPECT_EQ(reports.back().tables_done, 5);
  EXPECT_EQ(reports.back().tables_total, 5);
  EXPECT_GE(reports.back().rows, 100000u);
}

TEST_F(BaseSnapshotTest, OneJobAndFourJobsGiveTheSameBaseAndChecksumsMatchTheSource) {
  sinks::ObjectStore* one_store = NewStore();
  sinks::ObjectStore* four_store = NewStore();
  // With the DDL capture installed: its schema and triggers stay out of the dumped schema.
  ASSERT_OK_AND_ASSIGN(
      auto admin, pg::PgConnection::Connect(pg_->ConnInfo("crm"), pg::ConnectionKind::kNormal));
  ASSERT_OK(InstallDdlCapture(*admin));
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest one, TakeBaseSnapshot(Options(1), {one_store}, {}));
  SnapshotOptions four_jobs = Options(4);
  four_jobs.min_chunk_pages = 1;  // every table of two pages or more in parts
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest four, TakeBaseSnapshot(four_jobs, {four_store}, {}));
  ASSERT_EQ(one.tables_size(), four.tables_size());
  for (int i = 0; i < one.tables_size(); ++i) {
    const v1::BaseTable& a = one.tables(i);
    const v1::BaseTable& b = four.tables(i);
    SCOPED_TRACE(a.relation().table());
    EXPECT_EQ(a.relation().SerializeAsString(), b.relation().SerializeAsString());
    EXPECT_EQ(a.row_count(), b.row_count());
    EXPECT_EQ(a.row_digest(), b.row_digest());
    EXPECT_LE(a.chunks(), 1u);
    std::vector<std::string> rows_a = BaseRows(one_store, a);
    std::vector<std::string> rows_b = BaseRows(four_store, b);
    std::sort(rows_a.begin(), rows_a.end());
    std::sort(rows_b.begin(), rows_b.end());
    EXPECT_TRUE(rows_a == rows_b);
    // The quiesced source, computed afresh.
    EXPECT_EQ(FreshCountAndDigest(a.relation()), absl::StrCat(a.row_count(), " ", a.row_digest()));
  }
  EXPECT_EQ(one.pre_data_sql(), four.pre_data_sql());
  EXPECT_EQ(one.post_data_sql(), four.post_data_sql());
  // The schema is plain SQL that recreates the tables on an empty database.
  EXPECT_THAT(one.pre_data_sql(), ::testing::Not(HasSubstr("\\restrict")));
  EXPECT_THAT(one.post_data_sql(), ::testing::Not(HasSubstr("CREATE PUBLICATION")));
  for (const char* ours : {"CREATE EVENT TRIGGER", "walship.", "SCHEMA walship"}) {
    EXPECT_THAT(one.pre_data_sql() + one.post_data_sql(), ::testing::Not(HasSubstr(ours)));
  }
  ASSERT_OK(pg_->CreateDatabase("target"));
  ASSERT_OK(pg_->Psql("target", one.pre_data_sql()).status());
  ASSERT_OK(pg_->Psql("target", one.post_data_sql()).status());
  ASSERT_OK_AND_ASSIGN(std::string tables,
                       pg_->Query("target",
                                  "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                  "'public'"));
  EXPECT_EQ(tables, "5");
}

}  // namespace
}  // namespace walship::agent::snapshot
