// Base snapshots and DDL: a change committed after the export is detected and the snapshot
// retaken, DDL queued behind the base's locks neither hangs nor corrupts it, and the
// DDL-capturing event triggers emit the documented JSON.
#include <algorithm>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/pg/pg_connection.h"
#include "agent/snapshot/base_snapshotter.h"
#include "agent/snapshot/ddl_capture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/object_store.h"
#include "tests/integration/base_snapshot_fixture.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::PgCluster;

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
  EXPECT_EQ(FreshCountAndDigest(table->relation()),
            absl::StrCat(table->row_count(), " ", table->row_digest()));
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
