// Base snapshots against a real PostgreSQL 15: contents equal to the exported snapshot under
// concurrent writes (no transaction lost or doubled around snapshot_lsn), manifest fields,
// checksums, --snapshot-jobs 1 vs 4, interrupted and cancelled snapshots, and the
// DDL-capturing event triggers.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/replication_connection.h"
#include "agent/snapshot/base_snapshotter.h"
#include "agent/snapshot/ddl_capture.h"
#include "agent/snapshot/retention.h"
#include "agent/snapshot/snapshot_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/segment_reader.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::PgCluster;
using ::walship::testing::StatusIs;

constexpr char kSchema[] = R"sql(
CREATE TYPE deal_stage AS ENUM ('lead', 'won', 'lost');
CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, note text,
                        created timestamptz DEFAULT '2026-01-01 10:00:00+00');
CREATE INDEX customers_name ON customers (name);
CREATE TABLE deals (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    customer_id bigint REFERENCES customers, amount numeric(12,2),
                    stage deal_stage, tags text[], data bytea);
CREATE TABLE events (id bigint PRIMARY KEY, payload text, score double precision);
CREATE TABLE "Odd Name" (k int, "v.1" text);
ALTER TABLE "Odd Name" REPLICA IDENTITY FULL;
CREATE TABLE empty_table (id int PRIMARY KEY);
INSERT INTO customers (name, note)
  SELECT 'c' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE E'tab\there\nnewline \\ back' || i END
  FROM generate_series(1, 2000) i;
INSERT INTO deals (customer_id, amount, stage, tags, data)
  SELECT 1 + i % 2000, i * 1.25, (ARRAY['lead','won','lost'])[1 + i % 3]::deal_stage,
         ARRAY['a' || i, 'b"c'], decode(md5(i::text), 'hex')
  FROM generate_series(1, 5000) i;
INSERT INTO events SELECT i, repeat('x', i % 200) || i, i / 3.0 FROM generate_series(1, 100000) i;
INSERT INTO "Odd Name" VALUES (1, 'one'), (2, NULL), (3, 'ü');
CREATE PUBLICATION walship FOR ALL TABLES;
)sql";

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

class BaseSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", kSchema).status());
    char pattern[] = "/tmp/walship-base-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    stores_.clear();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  sinks::ObjectStore* NewStore() {
    auto store = sinks::OpenObjectStore(absl::StrCat("file://", dir_, "/store", stores_.size()));
    EXPECT_TRUE(store.ok()) << store.status();
    stores_.push_back(*std::move(store));
    return stores_.back().get();
  }

  SnapshotOptions Options(int jobs) {
    SnapshotOptions options;
    options.conninfo = pg_->ConnInfo("crm");
    options.publication = "walship";
    options.slot = "walship";
    options.jobs = jobs;
    return options;
  }

  std::vector<std::string> Keys(sinks::ObjectStore* store, absl::string_view part = "") {
    auto listed = store->List("");
    EXPECT_TRUE(listed.ok());
    std::vector<std::string> keys;
    for (const auto& info : *listed) {
      if (absl::StrContains(info.key, part)) keys.push_back(info.key);
    }
    return keys;
  }

  // The rows of `table` in the base, as COPY lines, in stored order.
  std::vector<std::string> BaseRows(sinks::ObjectStore* store, const v1::BaseTable& table) {
    std::vector<std::string> lines;
    uint64_t counted = 0;
    for (const std::string& key : table.object_keys()) {
      auto source = store->Open(key);
      EXPECT_TRUE(source.ok()) << source.status();
      if (!source.ok()) return lines;
      auto reader = proto::SegmentReader::Open(source->get());
      EXPECT_TRUE(reader.ok()) << reader.status();
      if (!reader.ok()) return lines;
      EXPECT_EQ((*reader)->header().kind(), v1::BASE_SEGMENT);
      v1::Record record;
      bool first = true;
      while (true) {
        auto more = (*reader)->Next(&record);
        EXPECT_TRUE(more.ok()) << more.status();
        if (!more.ok() || !*more) break;
        if (first) {
          EXPECT_TRUE(record.has_relation_def()) << key;
          EXPECT_EQ(record.relation_def().oid(), table.relation().oid());
          first = false;
          continue;
        }
        EXPECT_TRUE(record.has_copy_rows()) << key;
        EXPECT_EQ(record.copy_rows().relation_oid(), table.relation().oid());
        counted += record.copy_rows().row_count();
        for (absl::string_view line :
             absl::StrSplit(record.copy_rows().data(), '\n', absl::SkipEmpty())) {
          lines.emplace_back(line);
        }
      }
    }
    EXPECT_EQ(counted, lines.size());
    return lines;
  }

  // "<count> <md5>" of a table as the source holds it now, computed as
  // BaseTable.checksum documents.
  std::string FreshCountAndChecksum(const std::string& qualified) {
    auto fresh =
        pg_->Query("crm", absl::StrCat("SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, "
                                       "E'\\n' ORDER BY t::text COLLATE \"C\"), '')) FROM ",
                                       qualified, " t"));
    EXPECT_TRUE(fresh.ok()) << fresh.status();
    return fresh.ok() ? *fresh : "";
  }

  const v1::BaseTable* FindTable(const v1::BaseManifest& manifest, absl::string_view name) {
    for (const v1::BaseTable& table : manifest.tables()) {
      if (table.relation().table() == name) return &table;
    }
    ADD_FAILURE() << "no table " << name << " in the manifest";
    return nullptr;
  }

  std::unique_ptr<PgCluster> pg_;
  std::string dir_;
  std::vector<std::unique_ptr<sinks::ObjectStore>> stores_;
};

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

  // Manifest fields.
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

  // Relations.
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

  // Every table: the base's rows equal the witness's rows, and the manifest's count and
  // checksum equal the witness's, in both stores (same bytes).
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
    EXPECT_EQ(table.checksum(),
              QueryOne(witness, absl::StrCat("SELECT md5(coalesce(string_agg(t::text, E'\\n' "
                                             "ORDER BY t::text COLLATE \"C\"), '')) FROM ONLY ",
                                             qualified, " t")));
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
  EXPECT_EQ(FindTable(manifest, "empty_table")->checksum(), "d41d8cd98f00b204e9800998ecf8427e");
  PQclear(PQexec(witness, "COMMIT"));

  // The manifest is in both stores; the temporary slot is gone.
  for (sinks::ObjectStore* store : {store_a, store_b}) {
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

  // Around snapshot_lsn: every writer transaction that committed before it is in the base,
  // every one that committed at or after it is not.
  std::set<std::string> base_writer_rows;
  for (const std::string& line : BaseRows(store_a, *FindTable(manifest, "customers"))) {
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
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest four, TakeBaseSnapshot(Options(4), {four_store}, {}));
  ASSERT_EQ(one.tables_size(), four.tables_size());
  for (int i = 0; i < one.tables_size(); ++i) {
    const v1::BaseTable& a = one.tables(i);
    const v1::BaseTable& b = four.tables(i);
    SCOPED_TRACE(a.relation().table());
    EXPECT_EQ(a.relation().SerializeAsString(), b.relation().SerializeAsString());
    EXPECT_EQ(a.row_count(), b.row_count());
    EXPECT_EQ(a.checksum(), b.checksum());
    std::vector<std::string> rows_a = BaseRows(one_store, a);
    std::vector<std::string> rows_b = BaseRows(four_store, b);
    std::sort(rows_a.begin(), rows_a.end());
    std::sort(rows_b.begin(), rows_b.end());
    EXPECT_TRUE(rows_a == rows_b);
    // The quiesced source, computed afresh.
    std::string qualified = pg::QuoteQualified(a.relation().schema(), a.relation().table());
    EXPECT_EQ(FreshCountAndChecksum(qualified), absl::StrCat(a.row_count(), " ", a.checksum()));
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

TEST_F(BaseSnapshotTest, InterruptedSnapshotLeavesNoManifestAndIsCleanedUp) {
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(2);
  options.zstd_level = 0;
  options.batch_bytes = 16 << 10;
  options.object_bytes = 64 << 10;
  std::atomic<bool> killed{false};
  std::thread killer([&] {
    // As soon as the first events object is stored, kill the COPY sessions.
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline && Keys(store, "public.events.").empty()) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    auto out = pg_->Query("crm",
                          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          "WHERE query LIKE 'COPY (SELECT%' AND pid <> pg_backend_pid()");
    killed.store(out.ok() && *out != "0");
  });
  absl::StatusOr<v1::BaseManifest> taken = TakeBaseSnapshot(options, {store}, {});
  killer.join();
  ASSERT_TRUE(killed.load()) << "the copy finished before it could be interrupted";
  EXPECT_FALSE(taken.ok());
  EXPECT_THAT(taken.status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(Keys(store, "manifest.pb").empty());
  std::vector<std::string> partial = Keys(store, "/base/");
  ASSERT_FALSE(partial.empty());

  ASSERT_OK_AND_ASSIGN(std::string system_id,
                       pg_->Query("crm", "SELECT system_identifier FROM pg_control_system()"));
  ASSERT_OK_AND_ASSIGN(int removed, CleanIncompleteBases(*store, {system_id, "walship"}));
  EXPECT_EQ(removed, static_cast<int>(partial.size()));
  EXPECT_TRUE(Keys(store, "/base/").empty());
  // The temporary slot died with its connection.
  ASSERT_OK_AND_ASSIGN(std::string slots,
                       pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
  EXPECT_EQ(slots, "0");

  // Taken again, it completes.
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest manifest, TakeBaseSnapshot(Options(2), {store}, {}));
  EXPECT_EQ(FindTable(manifest, "events")->row_count(), 100000u);
  EXPECT_EQ(Keys(store, "manifest.pb").size(), 1u);
}

TEST_F(BaseSnapshotTest, CancelStopsWithoutManifest) {
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(1);
  options.batch_bytes = 4 << 10;
  std::atomic<bool> cancel{true};
  options.cancel = &cancel;
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(Keys(store, "manifest.pb").empty());
}

TEST_F(BaseSnapshotTest, BadOptionsAndMissingPublication) {
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(0);
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TakeBaseSnapshot(Options(1), {}, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options(1);
  options.publication = "nope";
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"nope\"")));
  options = Options(1);
  options.pg_dump_path = "/nonexistent/pg_dump";
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(Keys(store, "manifest.pb").empty());
}

TEST_F(BaseSnapshotTest, ASnapshotDiesWithItsReplicationConnection) {
  std::string name;
  {
    ASSERT_OK_AND_ASSIGN(auto repl, pg::ReplicationConnection::Connect(pg_->ConnInfo("crm")));
    ASSERT_OK_AND_ASSIGN(auto exported, repl->CreateTemporarySlotWithSnapshot("gone_test"));
    EXPECT_TRUE(exported.consistent_point.valid());
    name = exported.snapshot_name;
    ASSERT_OK_AND_ASSIGN(
        auto reader, pg::PgConnection::Connect(pg_->ConnInfo("crm"), pg::ConnectionKind::kNormal));
    ASSERT_OK(ImportSnapshot(*reader, name));
    ASSERT_OK_AND_ASSIGN(std::string slots,
                         pg_->Query("crm",
                                    "SELECT count(*) FROM pg_replication_slots WHERE "
                                    "slot_name = 'gone_test' AND temporary"));
    EXPECT_EQ(slots, "1");
  }
  // The walsender exits shortly after the connection closes; its temporary slot goes with
  // it, and so does the snapshot.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    ASSERT_OK_AND_ASSIGN(std::string left,
                         pg_->Query("crm", "SELECT count(*) FROM pg_stat_replication"));
    ASSERT_OK_AND_ASSIGN(std::string temp,
                         pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
    if (left == "0" && temp == "0") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_OK_AND_ASSIGN(
      auto late, pg::PgConnection::Connect(pg_->ConnInfo("crm"), pg::ConnectionKind::kNormal));
  EXPECT_THAT(ImportSnapshot(*late, name), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK_AND_ASSIGN(std::string slots,
                       pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
  EXPECT_EQ(slots, "0");
}

// DDL or TRUNCATE committed between the export and the table locks: COPY would read the new
// definition (or an empty rewritten table) under the old snapshot. The change is detected,
// the snapshot retaken, and the base agrees with the source's current schema and rows.
struct RaceCase {
  const char* name;
  const char* sql;
  const char* table;  // the table to compare afterwards, or "" when it is gone
  int expected_tables;
  friend void PrintTo(const RaceCase& race, std::ostream* os) { *os << race.name; }
};

class BaseSnapshotRaceTest : public BaseSnapshotTest,
                             public ::testing::WithParamInterface<RaceCase> {};

TEST_P(BaseSnapshotRaceTest, ChangeAfterTheExportIsDetectedAndTheSnapshotRetaken) {
  const RaceCase& race = GetParam();
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(2);
  int attempts = 0;
  options.on_exported = [&](const std::string&, uint64_t) {
    if (++attempts == 1) {
      auto done = pg_->Psql("crm", race.sql);
      EXPECT_TRUE(done.ok()) << done.status();
    }
  };
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest manifest, TakeBaseSnapshot(options, {store}, {}));
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(manifest.tables_size(), race.expected_tables);
  if (std::string(race.table).empty()) return;
  const v1::BaseTable* table = FindTable(manifest, race.table);
  ASSERT_NE(table, nullptr);
  std::string qualified = pg::QuoteQualified("public", race.table);
  // Columns as the live catalog has them, rows and checksum as the (quiet) source has them.
  ASSERT_OK_AND_ASSIGN(
      std::string columns,
      pg_->Query("crm", absl::StrCat("SELECT string_agg(attname || ' ' || "
                                     "format_type(atttypid, atttypmod), ',' ORDER BY attnum) "
                                     "FROM pg_attribute WHERE attrelid = '",
                                     qualified,
                                     "'::regclass AND attnum > 0 AND NOT "
                                     "attisdropped")));
  std::vector<std::string> in_base;
  for (const v1::Column& column : table->relation().columns()) {
    in_base.push_back(absl::StrCat(column.name(), " ", column.type_name()));
  }
  std::vector<std::string> live = absl::StrSplit(columns, ',');
  ASSERT_EQ(in_base.size(), live.size()) << columns;
  for (size_t i = 0; i < live.size(); ++i) {
    EXPECT_EQ(live[i].substr(0, live[i].find(' ')), in_base[i].substr(0, in_base[i].find(' ')));
  }
  EXPECT_EQ(FreshCountAndChecksum(qualified),
            absl::StrCat(table->row_count(), " ", table->checksum()));
  std::vector<std::string> rows = BaseRows(store, *table);
  EXPECT_EQ(rows.size(), table->row_count());
  for (const std::string& row : rows) {
    ASSERT_EQ(static_cast<size_t>(std::count(row.begin(), row.end(), '\t')) + 1, live.size())
        << row;
  }
  EXPECT_THAT(manifest.pre_data_sql(), HasSubstr(race.table));
}

INSTANTIATE_TEST_SUITE_P(
    Ddl, BaseSnapshotRaceTest,
    ::testing::Values(
        RaceCase{"AddColumn", "ALTER TABLE customers ADD COLUMN nickname text DEFAULT 'n/a'",
                 "customers", 5},
        RaceCase{"Truncate", "TRUNCATE events", "events", 5},
        RaceCase{"AlterType", "ALTER TABLE events ALTER COLUMN score TYPE numeric", "events", 5},
        RaceCase{"DropTable", "DROP TABLE empty_table", "", 4},
        RaceCase{"CreateTable",
                 "CREATE TABLE late (id int PRIMARY KEY, v text); INSERT INTO late VALUES (1, 'x')",
                 "late", 6}),
    [](const ::testing::TestParamInfo<RaceCase>& info) { return std::string(info.param.name); });

// A TRUNCATE queued behind the base's locks once they are held: the workers' COPY and
// pg_dump would wait behind it and it behind the base. Nothing waits: the attempt gives up,
// the TRUNCATE goes through, and the retaken base holds the truncated table.
TEST_F(BaseSnapshotTest, DdlQueuedBehindTheBaseLocksNeitherHangsNorCorruptsIt) {
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(2);
  int attempts = 0;
  std::thread truncate;
  absl::Status truncated = absl::UnknownError("not run");
  options.on_locked = [&]() {
    if (++attempts != 1) return;
    truncate = std::thread([&] { truncated = pg_->Psql("crm", "TRUNCATE events").status(); });
    // Until the TRUNCATE waits for its lock.
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      auto waiting = pg_->Query("crm",
                                "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
                                "mode = 'AccessExclusiveLock'");
      if (waiting.ok() && *waiting == "1") return;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "the TRUNCATE never waited for the base's lock";
  };
  absl::Time started = absl::Now();
  absl::StatusOr<v1::BaseManifest> manifest = TakeBaseSnapshot(options, {store}, {});
  absl::Duration took = absl::Now() - started;
  if (truncate.joinable()) truncate.join();
  ASSERT_OK(truncated);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(attempts, 2);
  EXPECT_LT(took, absl::Seconds(60));
  const v1::BaseTable* events = FindTable(*manifest, "events");
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(events->row_count(), 0u);
  EXPECT_EQ(FindTable(*manifest, "customers")->row_count(), 2000u);
}

// The JSON of every walship.ddl message in slot `slot`, in order, as jsonb text, with the
// volatile oid fields removed.
std::vector<std::string> DdlMessages(PgCluster& pg, const std::string& slot) {
  auto out = pg.Psql(
      "crm", absl::StrCat("SELECT (j #- '{tables,0,oid}' #- '{tables,1,oid}')::text FROM ("
                          " SELECT substring(data FROM 'content:(.*)$')::jsonb AS j, lsn"
                          " FROM pg_logical_slot_get_changes('",
                          slot,
                          "', NULL, NULL) WHERE data LIKE 'message: transactional: 1 prefix: "
                          "walship.ddl,%') m ORDER BY lsn"));
  EXPECT_TRUE(out.ok()) << out.status();
  if (!out.ok()) return {};
  return absl::StrSplit(*out, '\n', absl::SkipEmpty());
}

TEST_F(BaseSnapshotTest, DdlCaptureEmitsTheDocumentedJson) {
  ASSERT_OK_AND_ASSIGN(
      auto conn, pg::PgConnection::Connect(pg_->ConnInfo("crm"), pg::ConnectionKind::kNormal));
  ASSERT_OK(InstallDdlCapture(*conn));
  ASSERT_OK(InstallDdlCapture(*conn));  // idempotent
  ASSERT_OK(pg_->Psql("crm",
                      "SELECT pg_create_logical_replication_slot('ddl', "
                      "'test_decoding')")
                .status());
  ASSERT_OK(pg_->Psql("crm", R"sql(
    CREATE TABLE contracts (id bigserial PRIMARY KEY, title text NOT NULL);
    ALTER TABLE contracts ADD COLUMN value numeric(10,2) DEFAULT 0;
    ALTER TABLE contracts RENAME COLUMN title TO name;
    ALTER TABLE contracts RENAME TO agreements;
    ALTER TABLE agreements DROP COLUMN value;
    CREATE TABLE walship.internal (x int);
    CREATE TEMP TABLE scratch (x int);
    CREATE INDEX agreements_name ON agreements (name);
    SET search_path = pg_temp, public;
    DROP TABLE agreements;
  )sql")
                .status());
  std::vector<std::string> messages = DdlMessages(*pg_, "ddl");
  // Every command but those on walship's own and temporary objects: the index too.
  ASSERT_EQ(messages.size(), 7u) << absl::StrJoin(messages, "\n");
  // The query is the statement's text; the rest is compared as JSON without it.
  ASSERT_OK_AND_ASSIGN(std::string query,
                       pg_->Query("crm", absl::StrCat("SELECT ", pg::QuoteLiteral(messages[0]),
                                                      "::jsonb ->> 'query'")));
  EXPECT_THAT(query, HasSubstr("CREATE TABLE contracts (id bigserial PRIMARY KEY"));
  // The caller's search_path, not the trigger function's own.
  auto search_path = [&](size_t i) {
    auto out = pg_->Query("crm", absl::StrCat("SELECT ", pg::QuoteLiteral(messages[i]),
                                              "::jsonb ->> 'search_path'"));
    return out.ok() ? *out : out.status().ToString();
  };
  EXPECT_EQ(search_path(0), "\"$user\", public");
  EXPECT_EQ(search_path(6), "pg_temp, public");
  auto tables_of = [&](size_t i) {
    auto out = pg_->Query(
        "crm", absl::StrCat("SELECT (", pg::QuoteLiteral(messages[i]),
                            "::jsonb - 'query' - 'search_path')::text"));
    return out.ok() ? *out : out.status().ToString();
  };
  auto expect_tables = [&](size_t i, const std::string& expected) {
    ASSERT_OK_AND_ASSIGN(
        std::string equal,
        pg_->Query("crm", absl::StrCat("SELECT ", pg::QuoteLiteral(tables_of(i)),
                                       "::jsonb = ", pg::QuoteLiteral(expected), "::jsonb")));
    EXPECT_EQ(equal, "t") << "message " << i << ":\n  got      " << tables_of(i) << "\n  expected "
                          << expected;
  };
  const std::string id_column =
      R"j({"attnum": 1, "name": "id", "type": "bigint", "not_null": true,
          "default": "nextval('public.contracts_id_seq'::regclass)", "generated": "", "identity": ""})j";
  expect_tables(0, R"j({"format": 2, "tag": "CREATE TABLE", "tables": [{"schema": "public",
    "table": "contracts", "dropped": false, "columns": [)j" +
                       id_column + R"j(,
      {"attnum": 2, "name": "title", "type": "text", "not_null": true, "default": null, "generated": "", "identity": ""}],
      "primary_key": ["id"], "replica_identity": "d"}]})j");
  expect_tables(1, R"j({"format": 2, "tag": "ALTER TABLE", "tables": [{"schema": "public",
    "table": "contracts", "dropped": false, "columns": [)j" +
                       id_column + R"j(,
      {"attnum": 2, "name": "title", "type": "text", "not_null": true, "default": null, "generated": "", "identity": ""},
      {"attnum": 3, "name": "value", "type": "numeric(10,2)", "not_null": false,
       "default": "0", "generated": "", "identity": ""}], "primary_key": ["id"], "replica_identity": "d"}]})j");
  expect_tables(2, R"j({"format": 2, "tag": "ALTER TABLE", "tables": [{"schema": "public",
    "table": "contracts", "dropped": false, "columns": [)j" +
                       id_column + R"j(,
      {"attnum": 2, "name": "name", "type": "text", "not_null": true, "default": null, "generated": "", "identity": ""},
      {"attnum": 3, "name": "value", "type": "numeric(10,2)", "not_null": false,
       "default": "0", "generated": "", "identity": ""}], "primary_key": ["id"], "replica_identity": "d"}]})j");
  expect_tables(3, R"j({"format": 2, "tag": "ALTER TABLE", "tables": [{"schema": "public",
    "table": "agreements", "dropped": false, "columns": [)j" +
                       id_column + R"j(,
      {"attnum": 2, "name": "name", "type": "text", "not_null": true, "default": null, "generated": "", "identity": ""},
      {"attnum": 3, "name": "value", "type": "numeric(10,2)", "not_null": false,
       "default": "0", "generated": "", "identity": ""}], "primary_key": ["id"], "replica_identity": "d"}]})j");
  expect_tables(4, R"j({"format": 2, "tag": "ALTER TABLE", "tables": [{"schema": "public",
    "table": "agreements", "dropped": false, "columns": [)j" +
                       id_column + R"j(,
      {"attnum": 2, "name": "name", "type": "text", "not_null": true, "default": null, "generated": "", "identity": ""}],
      "primary_key": ["id"], "replica_identity": "d"}]})j");
  expect_tables(5, R"j({"format": 2, "tag": "CREATE INDEX", "tables": []})j");
  expect_tables(6, R"j({"format": 2, "tag": "DROP TABLE", "tables": [{"schema": "public",
    "table": "agreements", "dropped": true, "columns": [], "primary_key": [],
    "replica_identity": "d"}]})j");

  // The oid is the table's.
  ASSERT_OK(pg_->Psql("crm", "CREATE TABLE oid_check (a int)").status());
  ASSERT_OK_AND_ASSIGN(std::string oid, pg_->Query("crm", "SELECT 'oid_check'::regclass::oid"));
  ASSERT_OK_AND_ASSIGN(
      std::string captured,
      pg_->Query("crm",
                 "SELECT substring(data FROM 'content:(.*)$')::jsonb #>> '{tables,0,oid}' "
                 "FROM pg_logical_slot_get_changes('ddl', NULL, NULL) "
                 "WHERE data LIKE 'message:%walship.ddl%'"));
  EXPECT_EQ(captured, oid);

  ASSERT_OK(RemoveDdlCapture(*conn));
  ASSERT_OK(pg_->Psql("crm", "CREATE TABLE after_removal (a int)").status());
  EXPECT_TRUE(DdlMessages(*pg_, "ddl").empty());
}

}  // namespace
}  // namespace walship::agent::snapshot
