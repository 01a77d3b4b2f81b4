// The libpq SnapshotSource: each call forwards to the catalog, copier and pg_dump functions.
#include "agent/snapshot/pg_snapshot_source.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/replication_connection.h"
#include "agent/snapshot/schema_dump.h"
#include "proto/core/status_macros.h"

namespace walship::agent::snapshot {
namespace {

class PgSnapshotSession final : public SnapshotSession {
 public:
  PgSnapshotSession(std::unique_ptr<pg::PgConnection> conn, std::string conninfo)
      : conn_(std::move(conn)), conninfo_(std::move(conninfo)) {}

  absl::StatusOr<int64_t> SourceTimeUs() override {
    WALSHIP_ASSIGN_OR_RETURN(
        auto now_us,
        conn_->QueryValue("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
                          {}, "reading the source clock"));
    int64_t value = 0;
    if (!now_us || !absl::SimpleAtoi(*now_us, &value)) {
      return absl::DataLossError("unexpected result reading the source clock");
    }
    return value;
  }
  absl::StatusOr<std::vector<PublishedTable>> ReadPublishedTables(
      absl::string_view publication) override {
    return snapshot::ReadPublishedTables(*conn_, publication);
  }
  absl::StatusOr<std::vector<v1::SequenceValue>> ReadSequences() override {
    return snapshot::ReadSequences(*conn_);
  }
  absl::StatusOr<std::vector<v1::BaseRole>> ReadRolesNamed() override {
    return snapshot::ReadRolesNamed(*conn_);
  }
  absl::Status LockAndCheckTables(const std::vector<PublishedTable>& tables,
                                  absl::Duration lock_timeout) override {
    // The live catalog through a session of its own, closed once checked.
    WALSHIP_ASSIGN_OR_RETURN(
        auto fresh, pg::PgConnection::Connect(conninfo_, pg::ConnectionKind::kNormal));
    return snapshot::LockAndCheckTables(*conn_, *fresh, tables, lock_timeout);
  }
  absl::StatusOr<v1::BaseTable> CopyTable(
      const PublishedTable& table, const TableChunk& chunk, const CopyTarget& target,
      const std::function<void(uint64_t rows, uint64_t bytes)>& on_progress,
      const std::atomic<bool>* cancel) override {
    return snapshot::CopyTable(*conn_, table, chunk, target, on_progress, cancel);
  }
  absl::StatusOr<LargeObjectsCopy> CopyLargeObjects(const CopyTarget& target,
                                                    const std::atomic<bool>* cancel) override {
    return snapshot::CopyLargeObjects(*conn_, target, cancel);
  }

 private:
  std::unique_ptr<pg::PgConnection> conn_;
  const std::string conninfo_;
};

class PgSnapshotSource final : public SnapshotSource {
 public:
  PgSnapshotSource(std::string conninfo, std::string pg_dump_path)
      : conninfo_(std::move(conninfo)),
        pg_dump_path_(pg_dump_path.empty() ? DefaultPgDumpPath() : std::move(pg_dump_path)) {}

  absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> OpenReplication() override {
    WALSHIP_ASSIGN_OR_RETURN(auto conn, pg::ReplicationConnection::Connect(conninfo_));
    return std::unique_ptr<pg::ReplicationSession>(std::move(conn));
  }
  absl::StatusOr<std::unique_ptr<SnapshotSession>> OpenInSnapshot(
      const std::string& snapshot_name) override {
    WALSHIP_ASSIGN_OR_RETURN(
        auto conn, pg::PgConnection::Connect(conninfo_, pg::ConnectionKind::kNormal));
    WALSHIP_RETURN_IF_ERROR(ImportSnapshot(*conn, snapshot_name));
    return std::unique_ptr<SnapshotSession>(new PgSnapshotSession(std::move(conn), conninfo_));
  }
  absl::StatusOr<std::string> DumpSchema(const std::string& snapshot_name,
                                         absl::string_view section) override {
    return DumpSchemaSection(pg_dump_path_, conninfo_, snapshot_name, section);
  }

 private:
  const std::string conninfo_;
  const std::string pg_dump_path_;
};

}  // namespace

std::unique_ptr<SnapshotSource> NewPgSnapshotSource(std::string conninfo,
                                                    std::string pg_dump_path) {
  return std::make_unique<PgSnapshotSource>(std::move(conninfo), std::move(pg_dump_path));
}

}  // namespace walship::agent::snapshot
