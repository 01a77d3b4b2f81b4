// PgCluster: a throw-away PostgreSQL 15 cluster for tests, with wal_level=logical, listening
// only on a Unix socket in its own short directory under /tmp.
//
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCluster> pg, PgCluster::Start());
//   ASSERT_OK(pg->CreateDatabase("crm"));
//   ASSERT_OK_AND_ASSIGN(std::string out, pg->Psql("crm", "SELECT 1"));   // "1\n"
//   PGconn* conn = PQconnectdb(pg->ConnInfo("crm").c_str());
//
// initdb runs once into a template directory shared by all test processes
// (/tmp/walship-pgtpl-*, kept between runs; about 1 s); every cluster copies it (`cp -a`), so
// a fresh cluster costs about 0.3 s. When the process runs as
// root the server runs as the unprivileged `postgres` user (it refuses root).
// The destructor stops the server (immediate) and removes its directory. Not thread-safe:
// use one PgCluster from one thread; separate clusters may live side by side.
#ifndef WALSHIP_TESTS_TESTING_PG_CLUSTER_H_
#define WALSHIP_TESTS_TESTING_PG_CLUSTER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::testing {

struct PgClusterOptions {
  // Server settings added after the defaults below (and overriding them), e.g.
  // {"max_slot_wal_keep_size", "1MB"}.
  std::map<std::string, std::string> settings;
  // The smallest value, so that modest transactions already stream (pgoutput streaming=on).
  std::string logical_decoding_work_mem = "64kB";
  int max_wal_senders = 20;
  int max_replication_slots = 20;
  // Also listen on 127.0.0.1:port (default: Unix socket only).
  bool listen_tcp = false;
};

class PgCluster {
 public:
  enum class ShutdownMode { kImmediate, kFast };

  // initdb (or copy of the template), configure, start. kUnavailable when the server does not
  // come up (the message holds the end of its log); kFailedPrecondition when the PostgreSQL
  // 15 binaries or the `postgres` user (needed as root) are missing.
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start(const PgClusterOptions& options = {});

  // A streaming standby of `primary` (pg_basebackup -R), started and replaying.
  static absl::StatusOr<std::unique_ptr<PgCluster>> StartStandby(const PgCluster& primary);
  // pg_ctl promote: the standby becomes a primary on the next timeline.
  absl::Status Promote();

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  ~PgCluster();

  // The socket directory (libpq's host=).
  const std::string& host() const { return dir_; }
  int port() const { return port_; }
  // "host=... port=... user=postgres dbname=...". Add " replication=database" for a walsender.
  std::string ConnInfo(absl::string_view dbname = "postgres") const;
  // ConnInfo() plus " replication=database": a walsender connection for logical replication.
  std::string ReplicationConnInfo(absl::string_view dbname) const;
  std::string DataDir() const { return dir_ + "/data"; }
  // The directory that holds everything (data, socket, server log); removed at destruction.
  const std::string& BaseDir() const { return dir_; }
  bool running() const { return running_; }

  absl::Status CreateDatabase(absl::string_view name);
  // Runs `sql` with psql (-X -A -t, ON_ERROR_STOP) in `dbname`; returns its stdout. A failing
  // statement gives kInternal with psql's stderr.
  absl::StatusOr<std::string> Psql(absl::string_view dbname, absl::string_view sql);
  // Psql() with the output's trailing newlines removed: the value of a one-cell query.
  absl::StatusOr<std::string> Query(absl::string_view dbname, absl::string_view sql);

  // Stops the server. kImmediate is a crash as far as the server is concerned.
  absl::Status Stop(ShutdownMode mode = ShutdownMode::kImmediate);
  // Stops (if running) and starts again with the same data directory and port.
  absl::Status Restart(ShutdownMode mode = ShutdownMode::kFast);
  // The server log so far.
  std::string ServerLog() const;

 private:
  PgCluster(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  absl::Status StartServer();
  absl::Status WriteSettings(const PgClusterOptions& options);

  std::string dir_;
  int port_;
  bool running_ = false;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_PG_CLUSTER_H_
