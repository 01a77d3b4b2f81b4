// A fixture for replay's integration tests: one throw-away PostgreSQL cluster per test
// binary, a fresh database per test, and helpers to read a table back as row text.
#ifndef WALSHIP_TESTS_REPLAY_REPLAY_PG_FIXTURE_H_
#define WALSHIP_TESTS_REPLAY_REPLAY_PG_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/pg/pg_connection.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay::testing {

class ReplayPgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (cluster_ == nullptr) {
      auto started = walship::testing::PgCluster::Start();
      ASSERT_TRUE(started.ok()) << started.status();
      cluster_ = std::move(started).value().release();
    }
  }

 public:
  // Stopped by the environment registered in replay_pg_fixture.cc when the binary ends.
  static void StopCluster() {
    delete cluster_;
    cluster_ = nullptr;
  }

 protected:
  // A new database with a unique name; returns its name.
  std::string NewDatabase() {
    std::string name = absl::StrCat("db", ++counter_);
    EXPECT_OK(cluster_->CreateDatabase(name));
    return name;
  }
  std::string ConnInfo(const std::string& db) { return cluster_->ConnInfo(db); }
  void Sql(const std::string& db, const std::string& sql) {
    auto out = cluster_->Psql(db, sql);
    ASSERT_TRUE(out.ok()) << out.status();
  }
  std::string Value(const std::string& db, const std::string& sql) {
    auto out = cluster_->Query(db, sql);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : "";
  }
  // Every row of `table` as row::text, sorted byte-wise.
  std::vector<std::string> Rows(const std::string& db, const std::string& table) {
    auto out = cluster_->Psql(
        db, absl::StrCat("SELECT r::text FROM ", table, " r ORDER BY r::text COLLATE \"C\""));
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return {};
    std::vector<std::string> rows = absl::StrSplit(*out, '\n', absl::SkipEmpty());
    return rows;
  }
  std::unique_ptr<agent::pg::PgConnection> Connect(const std::string& db) {
    auto conn = agent::pg::PgConnection::Connect(ConnInfo(db), agent::pg::ConnectionKind::kNormal);
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? std::move(conn).value() : nullptr;
  }

  static inline walship::testing::PgCluster* cluster_ = nullptr;
  static inline int counter_ = 0;
};

}  // namespace walship::replay::testing

#endif  // WALSHIP_TESTS_REPLAY_REPLAY_PG_FIXTURE_H_
