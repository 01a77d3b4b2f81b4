// Orchestrates one base snapshot: slot + exported snapshot, catalog, workers, pg_dump,
// progress, manifest. Shutdown order: workers joined, then the pg_dump thread, then the
// catalog connection, then the replication connection (which drops the temporary slot).
#include "agent/snapshot/base_snapshotter.h"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "proto/core/failpoint.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/replication_connection.h"
#include "agent/snapshot/schema_dump.h"
#include "agent/snapshot/snapshot_catalog.h"
#include "agent/snapshot/table_copier.h"
#include "proto/segment_format.h"
#include "sinks/object_store/layout.h"

namespace walship::snapshot {
namespace {

// State shared by the workers and the coordinating thread.
class SharedState {
 public:
  explicit SharedState(const std::vector<PublishedTable>& tables) {
    for (size_t i = 0; i < tables.size(); ++i) queue_.push_back(i);
  }

  // The next table index to copy, or -1 when none is left or the snapshot failed.
  int Next() {
    absl::MutexLock lock(&mu_);
    if (!status_.ok() || queue_.empty()) return -1;
    int next = static_cast<int>(queue_.front());
    queue_.pop_front();
    return next;
  }
  void AddProgress(uint64_t rows, uint64_t bytes) {
    absl::MutexLock lock(&mu_);
    rows_ += rows;
    bytes_ += bytes;
  }
  void TableDone(size_t index, v1::BaseTable table) {
    absl::MutexLock lock(&mu_);
    done_[index] = std::move(table);
  }
  void Fail(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (status_.ok()) status_ = std::move(status);
    stop_.store(true);
  }
  absl::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  void Snapshot(int* tables_done, uint64_t* rows, uint64_t* bytes) {
    absl::MutexLock lock(&mu_);
    *tables_done = static_cast<int>(done_.size());
    *rows = rows_;
    *bytes = bytes_;
  }
  std::map<size_t, v1::BaseTable> TakeDone() {
    absl::MutexLock lock(&mu_);
    return std::move(done_);
  }
  std::atomic<bool>* stop() { return &stop_; }

 private:
  absl::Mutex mu_;
  std::deque<size_t> queue_ ABSL_GUARDED_BY(mu_);
  std::map<size_t, v1::BaseTable> done_ ABSL_GUARDED_BY(mu_);
  uint64_t rows_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
};

void RunWorker(const SnapshotOptions& options, const std::string& snapshot_name,
               const std::vector<PublishedTable>& tables, const CopyTarget& target,
               SharedState* state) {
  auto conn = pg::PgConnection::Connect(options.conninfo, pg::ConnectionKind::kNormal);
  if (!conn.ok()) {
    state->Fail(conn.status());
    return;
  }
  if (absl::Status status = ImportSnapshot(**conn, snapshot_name); !status.ok()) {
    state->Fail(status);
    return;
  }
  for (int index = state->Next(); index >= 0; index = state->Next()) {
    auto table = CopyTable(
        **conn, tables[index], target,
        [state](uint64_t rows, uint64_t bytes) { state->AddProgress(rows, bytes); }, state->stop());
    if (!table.ok()) {
      state->Fail(table.status());
      return;
    }
    state->TableDone(static_cast<size_t>(index), *std::move(table));
  }
}

absl::Status ValidateOptions(const SnapshotOptions& options,
                             const std::vector<sinks::ObjectStore*>& stores) {
  if (options.conninfo.empty()) return absl::InvalidArgumentError("base snapshot: no source");
  if (options.publication.empty()) {
    return absl::InvalidArgumentError("base snapshot: no publication given");
  }
  if (options.slot.empty()) return absl::InvalidArgumentError("base snapshot: no slot given");
  if (options.jobs < 1 || options.jobs > 64) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--snapshot-jobs %d is out of range (1..64)", options.jobs));
  }
  if (options.max_attempts < 1 || options.lock_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("base snapshot: attempts and lock timeout must be positive");
  }
  if (stores.empty()) return absl::InvalidArgumentError("base snapshot: no object store");
  for (sinks::ObjectStore* store : stores) {
    if (store == nullptr) return absl::InvalidArgumentError("base snapshot: null object store");
  }
  if (options.batch_bytes == 0 || options.object_bytes == 0) {
    return absl::InvalidArgumentError("base snapshot: batch and object sizes must be positive");
  }
  return absl::OkStatus();
}

BaseProgress MakeProgress(SharedState& state, int tables_total, uint64_t estimated_rows,
                          absl::Time started) {
  BaseProgress p;
  state.Snapshot(&p.tables_done, &p.rows, &p.bytes);
  p.tables_total = tables_total;
  p.estimated_rows = std::max(estimated_rows, p.rows);
  p.elapsed = absl::Now() - started;
  double seconds = absl::ToDoubleSeconds(p.elapsed);
  if (seconds > 0) {
    p.rows_per_second = static_cast<double>(p.rows) / seconds;
    p.bytes_per_second = static_cast<double>(p.bytes) / seconds;
  }
  if (p.rows_per_second > 0 && p.estimated_rows > 0) {
    p.eta = absl::Seconds(static_cast<double>(p.estimated_rows - p.rows) / p.rows_per_second);
  }
  return p;
}

absl::StatusOr<v1::BaseManifest> TakeBaseSnapshotOnce(const SnapshotOptions& options,
                                                      std::vector<sinks::ObjectStore*> stores,
                                                      ProgressCallback progress, int attempt) {
  const absl::Time started = absl::Now();

  // 1. The replication connection and its exported snapshot. It stays idle from here on:
  //    any command on it would end the snapshot.
  WALSHIP_ASSIGN_OR_RETURN(auto repl, pg::ReplicationConnection::Connect(options.conninfo));
  WALSHIP_RETURN_IF_ERROR(repl->CheckServer());
  WALSHIP_ASSIGN_OR_RETURN(pg::SystemIdentity identity, repl->IdentifySystem());
  if (options.expected_timeline != 0 && identity.timeline != options.expected_timeline) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "base snapshot: the server is now on timeline %d, not %d (a failover); restart the "
        "agent so that it records the switch",
        identity.timeline, options.expected_timeline));
  }
  WALSHIP_ASSIGN_OR_RETURN(std::string server_version, repl->ShowSetting("server_version"));
  WALSHIP_ASSIGN_OR_RETURN(std::string server_encoding, repl->ShowSetting("server_encoding"));
  // Per attempt: a retried attempt's predecessor may still be dropping its slot.
  std::string temporary_slot = options.temporary_slot;
  if (temporary_slot.empty()) {
    temporary_slot = absl::StrFormat("walship_base_%d_%d", static_cast<int>(getpid()),
                                     absl::ToUnixSeconds(started));
  }
  if (attempt > 1) absl::StrAppend(&temporary_slot, "_", attempt);
  WALSHIP_ASSIGN_OR_RETURN(auto exported, repl->CreateTemporarySlotWithSnapshot(temporary_slot));
  LogInfo("base snapshot: exported snapshot %s at %s (temporary slot \"%s\")",
          exported.snapshot_name, exported.consistent_point.ToString(), temporary_slot);

  // 2. The catalog, read inside the snapshot.
  WALSHIP_ASSIGN_OR_RETURN(
      auto catalog, pg::PgConnection::Connect(options.conninfo, pg::ConnectionKind::kNormal));
  WALSHIP_RETURN_IF_ERROR(ImportSnapshot(*catalog, exported.snapshot_name));
  if (options.on_exported) {
    options.on_exported(exported.snapshot_name, exported.consistent_point.value());
  }
  WALSHIP_ASSIGN_OR_RETURN(
      auto now_us,
      catalog->QueryValue("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint", {},
                          "reading the source clock"));
  int64_t snapshot_time_us = 0;
  if (!now_us || !absl::SimpleAtoi(*now_us, &snapshot_time_us)) {
    return absl::DataLossError("unexpected result reading the source clock");
  }
  WALSHIP_ASSIGN_OR_RETURN(std::vector<PublishedTable> tables,
                           ReadPublishedTables(*catalog, options.publication));
  WALSHIP_ASSIGN_OR_RETURN(std::vector<v1::SequenceValue> sequences, ReadSequences(*catalog));
  WALSHIP_ASSIGN_OR_RETURN(std::vector<v1::BaseRole> roles, ReadRolesNamed(*catalog));
  // Locks held by `catalog` until the base is written; checked against the live catalog.
  {
    WALSHIP_ASSIGN_OR_RETURN(
        auto fresh, pg::PgConnection::Connect(options.conninfo, pg::ConnectionKind::kNormal));
    WALSHIP_RETURN_IF_ERROR(LockAndCheckTables(*catalog, *fresh, tables, options.lock_timeout));
  }
  if (options.on_locked) options.on_locked();
  uint64_t estimated_rows = 0;
  for (const PublishedTable& table : tables) {
    estimated_rows += static_cast<uint64_t>(table.estimated_rows);
  }

  // 3. The segment header and the copy target.
  sinks::StreamId stream{identity.system_id, options.slot, options.branch};
  v1::SessionSettings session;
  for (const auto& [name, value] : pg::PinnedSessionSettings()) {
    (*session.mutable_settings())[name] = value;
  }
  session.set_server_version(server_version);
  session.set_server_encoding(server_encoding);
  v1::SegmentHeader header;
  header.set_format_version(proto::kSegmentFormatVersion);
  header.set_codec(options.zstd_level == 0 ? v1::CODEC_NONE : v1::CODEC_ZSTD);
  header.set_kind(v1::BASE_SEGMENT);
  *header.mutable_session() = session;
  header.set_system_id(identity.system_id);
  header.set_timeline(identity.timeline);
  header.set_database(identity.database);
  header.set_slot(options.slot);
  header.set_incarnation(options.incarnation);
  header.set_incarnation_id(options.incarnation_id);
  header.set_created_time_us(absl::ToUnixMicros(started));
  CopyTarget target;
  target.stream = &stream;
  target.snapshot_lsn = exported.consistent_point;
  target.header = &header;
  target.stores = stores;
  target.batch_bytes = options.batch_bytes;
  target.object_bytes = options.object_bytes;
  target.zstd_level = options.zstd_level;

  // 4. Workers, and pg_dump beside them.
  SharedState state(tables);
  std::vector<std::thread> workers;
  int jobs = std::min<int>(options.jobs, std::max<int>(1, static_cast<int>(tables.size())));
  for (int i = 0; i < jobs; ++i) {
    workers.emplace_back(RunWorker, std::cref(options), std::cref(exported.snapshot_name),
                         std::cref(tables), std::cref(target), &state);
  }
  std::string pg_dump = options.pg_dump_path.empty() ? DefaultPgDumpPath() : options.pg_dump_path;
  absl::StatusOr<std::string> pre_data, post_data;
  std::atomic<bool> dump_done{false};
  std::thread dumper([&] {
    pre_data = DumpSchemaSection(pg_dump, options.conninfo, exported.snapshot_name, "pre-data");
    if (pre_data.ok()) {
      post_data = DumpSchemaSection(pg_dump, options.conninfo, exported.snapshot_name, "post-data");
    }
    if (!pre_data.ok())
      state.Fail(pre_data.status());
    else if (!post_data.ok())
      state.Fail(post_data.status());
    dump_done.store(true);
  });

  // 5. Wait, reporting progress about once a second.
  absl::Time last_report = absl::InfinitePast();
  while (true) {
    if (options.cancel != nullptr && options.cancel->load()) {
      state.Fail(absl::CancelledError("base snapshot cancelled"));
    }
    int done = 0;
    uint64_t rows = 0, bytes = 0;
    state.Snapshot(&done, &rows, &bytes);
    if (dump_done.load() && (done == static_cast<int>(tables.size()) || state.stop()->load())) {
      break;
    }
    if (progress && absl::Now() - last_report >= absl::Seconds(1)) {
      last_report = absl::Now();
      progress(MakeProgress(state, static_cast<int>(tables.size()), estimated_rows, started));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  for (std::thread& worker : workers) worker.join();
  dumper.join();
  WALSHIP_RETURN_IF_ERROR(state.status());
  // The large objects, on the connection that holds the snapshot.
  WALSHIP_ASSIGN_OR_RETURN(LargeObjectsCopy large_objects,
                           CopyLargeObjects(*catalog, target, options.cancel));

  // 6. The manifest, last.
  v1::BaseManifest manifest;
  manifest.set_format_version(kManifestFormatVersion);
  manifest.set_incarnation(options.incarnation);
  manifest.set_incarnation_id(options.incarnation_id);
  manifest.set_system_id(identity.system_id);
  manifest.set_timeline(identity.timeline);
  manifest.set_database(identity.database);
  manifest.set_slot(options.slot);
  manifest.set_snapshot_lsn(exported.consistent_point.value());
  manifest.set_snapshot_time_us(snapshot_time_us);
  manifest.set_started_time_us(absl::ToUnixMicros(started));
  manifest.set_pre_data_sql(*pre_data);
  manifest.set_post_data_sql(*post_data);
  std::map<size_t, v1::BaseTable> done = state.TakeDone();
  if (done.size() != tables.size()) {
    return absl::InternalError("base snapshot: a table was not copied");
  }
  for (auto& [index, table] : done) *manifest.add_tables() = std::move(table);
  for (v1::SequenceValue& sequence : sequences) *manifest.add_sequences() = std::move(sequence);
  for (v1::BaseRole& role : roles) *manifest.add_roles() = std::move(role);
  manifest.set_privileges_included(true);
  for (std::string& key : large_objects.keys) manifest.add_large_object_keys(std::move(key));
  for (const std::string& table : options.entered_tables) manifest.add_entered_tables(table);
  manifest.set_entered_lsn(options.entered_lsn.value());
  manifest.set_entered_time_us(options.entered_time_us);
  manifest.set_large_object_count(large_objects.count);
  manifest.set_large_object_bytes(large_objects.bytes);
  *manifest.mutable_session() = session;
  manifest.set_publication(options.publication);
  manifest.set_finished_time_us(absl::ToUnixMicros(absl::Now()));
  CrashPoint("base_before_manifest");
  std::string key = sinks::BaseManifestKey(stream, exported.consistent_point);
  std::string data = manifest.SerializeAsString();
  for (sinks::ObjectStore* store : stores) {
    absl::Status status = store->Put(key, data);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrFormat("writing base manifest \"%s\" to %s: %s",
                                                         key, store->url(), status.message()));
    }
  }
  if (progress) {
    BaseProgress p = MakeProgress(state, static_cast<int>(tables.size()), estimated_rows, started);
    p.tables_done = static_cast<int>(tables.size());
    p.eta.reset();
    p.finished = true;
    progress(p);
  }
  LogInfo("base snapshot %s complete: %d tables, %d sequences, written to %d store(s)",
          exported.consistent_point.ToString(), manifest.tables_size(), manifest.sequences_size(),
          static_cast<int>(stores.size()));
  return manifest;
}

}  // namespace

absl::StatusOr<v1::BaseManifest> TakeBaseSnapshot(const SnapshotOptions& options,
                                                  std::vector<sinks::ObjectStore*> stores,
                                                  ProgressCallback progress) {
  WALSHIP_RETURN_IF_ERROR(ValidateOptions(options, stores));
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<v1::BaseManifest> manifest =
        TakeBaseSnapshotOnce(options, stores, progress, attempt);
    if (manifest.ok() || manifest.status().code() != absl::StatusCode::kAborted ||
        attempt >= options.max_attempts) {
      return manifest;
    }
    // Objects an aborted attempt stored stay without a manifest (CleanIncompleteBases). The
    // DDL that aborted it gets its lock once this attempt's connections are gone.
    absl::Duration pause = std::min(absl::Seconds(attempt), absl::Seconds(5));
    LogWarning("base snapshot attempt %d of %d: %s; retrying in %s", attempt, options.max_attempts,
               manifest.status().message(), absl::FormatDuration(pause));
    for (absl::Time until = absl::Now() + pause; absl::Now() < until;) {
      if (options.cancel != nullptr && options.cancel->load()) {
        return absl::CancelledError("base snapshot cancelled");
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
}

}  // namespace walship::snapshot
