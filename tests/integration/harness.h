// Helpers shared by the integration tests that run the shipped walship-agent and
// walship-replay binaries against a throw-away PostgreSQL cluster.
#ifndef WALSHIP_TESTS_INTEGRATION_HARNESS_H_
#define WALSHIP_TESTS_INTEGRATION_HARNESS_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/core/lsn.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {

std::string AgentPath();
std::string ReplayPath();

// Every user table's rows as text (`row::text`, in "C" order), keyed "schema.table":
// what a restore must reproduce byte for byte.
using TableRows = std::map<std::string, std::vector<std::string>>;
absl::StatusOr<TableRows> CaptureTables(PgCluster& pg, absl::string_view db);
// A readable first difference between two captures, or "" when equal.
std::string FirstDifference(const TableRows& expected, const TableRows& actual);

absl::StatusOr<Lsn> CurrentLsn(PgCluster& pg, absl::string_view db);
// The slot's confirmed_flush_lsn (Invalid when the slot does not exist).
absl::StatusOr<Lsn> SlotConfirmed(PgCluster& pg, absl::string_view db, absl::string_view slot);
// Waits until the slot's confirmed position reaches `lsn`.
absl::Status WaitForSlot(PgCluster& pg, absl::string_view db, absl::string_view slot, Lsn lsn,
                         absl::Duration timeout);

// `pg_dump --schema-only` of `db`, as SQL text; and running SQL text in a new database.
absl::StatusOr<std::string> DumpSchema(PgCluster& pg, absl::string_view db);
// `pg_dump --schema-only -t PATTERN` of `db` (PATTERN as pg_dump reads it: "schema"."table").
absl::StatusOr<std::string> DumpTableSchema(PgCluster& pg, absl::string_view db,
                                            absl::string_view pattern);
absl::Status CreateDatabaseWithSchema(PgCluster& pg, absl::string_view db,
                                      absl::string_view schema_sql);

// The highest end LSN over the change segments stored in a local object store directory
// (read from the object keys themselves).
Lsn MaxStoredEnd(const std::string& store_dir);
// Paths of the stored change segments, in key order.
std::vector<std::string> StoredSegments(const std::string& store_dir);

// Waits until a complete base snapshot (a manifest.pb) is in the local store directory.
absl::Status WaitForBase(const std::string& store_dir, absl::Duration timeout);

// Starts walship-agent with `args`; stderr goes to `log_path`.
absl::StatusOr<std::unique_ptr<Subprocess>> StartAgent(const std::vector<std::string>& args,
                                                       const std::string& log_path,
                                                       std::map<std::string, std::string> env = {});
// The port of the agent's --metrics-listen 127.0.0.1:0, from its "metrics and /healthz on"
// log line; an error when the agent exits or logs none within `timeout`.
absl::StatusOr<int> WaitForMetricsPort(const std::string& log_path, Subprocess& agent,
                                       absl::Duration timeout = absl::Seconds(60));

// Runs walship-agent or walship-replay to completion.
absl::StatusOr<SubprocessResult> RunAgent(const std::vector<std::string>& args,
                                          absl::Duration timeout = absl::Seconds(120),
                                          std::map<std::string, std::string> env = {});
absl::StatusOr<SubprocessResult> RunReplay(const std::vector<std::string>& args,
                                           absl::Duration timeout = absl::Seconds(300));

// Samples, every 100 ms on a thread of its own, the pid of the walsender serving `slot`
// (pg_replication_slots.active_pid), keeping each distinct one in order: one pid from start
// to end means the replication connection was never replaced.
class WalsenderSampler {
 public:
  WalsenderSampler(PgCluster& pg, std::string db, std::string slot);
  ~WalsenderSampler();
  // Stops sampling and returns the pids seen.
  std::vector<std::string> Stop();

 private:
  PgCluster& pg_;
  const std::string db_;
  const std::string slot_;
  std::atomic<bool> done_{false};
  absl::Mutex mu_;
  std::vector<std::string> pids_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// A fresh directory under /tmp, removed by the caller (or left for inspection on failure).
std::string MakeTempDir(absl::string_view tag);
std::string ReadFile(const std::string& path);

// A throw-away cluster with a database "crm" that holds `schema_sql`, an empty object store
// directory and a work directory; both directories are removed after a passing test and
// kept (and named on stderr) after a failing one.
class CrmStoreTest : public ::testing::Test {
 protected:
  explicit CrmStoreTest(std::string schema_sql) : schema_sql_(std::move(schema_sql)) {}
  void SetUp() override;
  void TearDown() override;

  std::string schema_sql_;
  std::unique_ptr<PgCluster> pg_;
  std::string store_;
  std::string work_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_INTEGRATION_HARNESS_H_
