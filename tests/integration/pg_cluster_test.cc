// Tests for the PgCluster fixture against a real PostgreSQL 15 server: start, query, restart,
// two clusters side by side, logical replication slots, clean removal.
#include "tests/testing/pg_cluster.h"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

MATCHER_P(IsOkAndValue, expected, "is OK and equals \"" + std::string(expected) + "\"") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  *result_listener << "value is \"" << *arg << "\"";
  return *arg == expected;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(PgCluster, StartsWithLogicalWalAndAnswersQueries) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCluster> pg, PgCluster::Start());
  EXPECT_TRUE(pg->running());
  EXPECT_LE(pg->host().size() + 20, 107u) << "socket path too long: " << pg->host();
  EXPECT_THAT(pg->ConnInfo("crm"), StartsWith("host=" + pg->host()));
  EXPECT_THAT(pg->ConnInfo("crm"), HasSubstr("dbname=crm"));
  EXPECT_THAT(pg->Query("postgres", "SHOW wal_level"), IsOkAndValue("logical"));
  EXPECT_THAT(pg->Query("postgres", "SHOW logical_decoding_work_mem"), IsOkAndValue("64kB"));
  EXPECT_THAT(pg->Query("postgres", "SHOW max_replication_slots"), IsOkAndValue("20"));
  EXPECT_THAT(pg->Query("postgres", "SHOW fsync"), IsOkAndValue("off"));
  EXPECT_THAT(pg->Query("postgres", "SELECT current_setting('server_version_num')::int / 10000"),
              IsOkAndValue("15"));
}

TEST(PgCluster, AppliesExtraSettings) {
  PgClusterOptions options;
  options.settings["max_slot_wal_keep_size"] = "1GB";
  options.settings["application_name"] = "it's quoted";
  ASSERT_OK_AND_ASSIGN(auto pg, PgCluster::Start(options));
  EXPECT_THAT(pg->Query("postgres", "SHOW max_slot_wal_keep_size"), IsOkAndValue("1GB"));
}

TEST(PgCluster, CreatesDatabasesAndRunsScripts) {
  ASSERT_OK_AND_ASSIGN(auto pg, PgCluster::Start());
  ASSERT_OK(pg->CreateDatabase("crm"));
  ASSERT_OK(pg->Psql("crm",
                     "CREATE TABLE t (id int PRIMARY KEY, v text);\n"
                     "INSERT INTO t VALUES (1, 'a'), (2, 'b');\n"));
  EXPECT_THAT(pg->Psql("crm", "SELECT id, v FROM t ORDER BY id"), IsOkAndValue("1|a\n2|b\n"));
  EXPECT_THAT(pg->Psql("crm", "SELECT * FROM missing_table"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("missing_table")));
  EXPECT_THAT(pg->CreateDatabase("bad\"name"), StatusIs(absl::StatusCode::kInvalidArgument));

  // libpq reaches it with the conninfo too.
  PGconn* conn = PQconnectdb(pg->ConnInfo("crm").c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* res = PQexec(conn, "SELECT count(*) FROM t");
  ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
  EXPECT_STREQ(PQgetvalue(res, 0, 0), "2");
  PQclear(res);
  PQfinish(conn);
}

TEST(PgCluster, RestartKeepsDataAndStopRefusesConnections) {
  ASSERT_OK_AND_ASSIGN(auto pg, PgCluster::Start());
  ASSERT_OK(pg->Psql("postgres", "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42);"));
  ASSERT_OK(pg->Restart());
  EXPECT_THAT(pg->Query("postgres", "SELECT x FROM kept"), IsOkAndValue("42"));
  ASSERT_OK(pg->Restart(PgCluster::ShutdownMode::kImmediate));
  EXPECT_THAT(pg->Query("postgres", "SELECT x FROM kept"), IsOkAndValue("42"));
  ASSERT_OK(pg->Stop());
  EXPECT_FALSE(pg->running());
  EXPECT_THAT(pg->Psql("postgres", "SELECT 1"), StatusIs(absl::StatusCode::kInternal));
  ASSERT_OK(pg->Restart());
  EXPECT_THAT(pg->Query("postgres", "SELECT count(*) FROM kept"), IsOkAndValue("1"));
}

TEST(PgCluster, TwoClustersRunSideBySideAndAreRemoved) {
  std::string first_dir;
  {
    ASSERT_OK_AND_ASSIGN(auto a, PgCluster::Start());
    ASSERT_OK_AND_ASSIGN(auto b, PgCluster::Start());
    first_dir = a->BaseDir();
    EXPECT_NE(a->host(), b->host());
    EXPECT_NE(a->port(), b->port());
    ASSERT_OK(a->Psql("postgres", "CREATE TABLE only_in_a (x int)"));
    EXPECT_THAT(a->Query("postgres", "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'"),
                IsOkAndValue("1"));
    EXPECT_THAT(b->Query("postgres", "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'"),
                IsOkAndValue("0"));
    EXPECT_THAT(a->Query("postgres", "SELECT system_identifier FROM pg_control_system()"),
                IsOk());
    EXPECT_TRUE(PathExists(first_dir + "/data/PG_VERSION"));
  }
  EXPECT_FALSE(PathExists(first_dir)) << first_dir << " left behind";
}

TEST(PgCluster, CreatesALogicalSlotOverAReplicationConnection) {
  ASSERT_OK_AND_ASSIGN(auto pg, PgCluster::Start());
  ASSERT_OK(pg->CreateDatabase("crm"));
  ASSERT_OK(pg->Psql("crm",
                     "CREATE TABLE deals (id int PRIMARY KEY, amount numeric);\n"
                     "CREATE PUBLICATION walship FOR ALL TABLES;\n"));
  ASSERT_OK_AND_ASSIGN(
      SubprocessResult created,
      Subprocess::Run({"psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                       pg->ReplicationConnInfo("crm"), "-c",
                       "CREATE_REPLICATION_SLOT walship LOGICAL pgoutput EXPORT_SNAPSHOT"}));
  ASSERT_TRUE(created.ok()) << created.stderr_text;
  EXPECT_THAT(created.stdout_text, StartsWith("walship|"));
  EXPECT_THAT(pg->Query("crm", "SELECT slot_type || ' ' || plugin FROM pg_replication_slots"),
              IsOkAndValue("logical pgoutput"));

  ASSERT_OK(pg->Psql("crm", "INSERT INTO deals VALUES (1, 10.50)"));
  ASSERT_OK_AND_ASSIGN(
      std::string kinds,
      pg->Query("crm",
                "SELECT string_agg(chr(get_byte(data, 0)), '' ORDER BY lsn) FROM "
                "pg_logical_slot_peek_binary_changes('walship', NULL, NULL, 'proto_version', '2', "
                "'publication_names', 'walship')"));
  // Begin, Relation, Insert, Commit.
  EXPECT_EQ(kinds, "BRIC");
}

}  // namespace
}  // namespace walship::testing
