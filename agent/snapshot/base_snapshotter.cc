// Orchestrates one base snapshot: slot + exported snapshot, catalog, workers, pg_dump,
// progress, manifest. Shutdown order: workers joined, then the pg_dump thread, then the
// catalog session, then the replication session (which drops the temporary slot).
#include "agent/snapshot/base_snapshotter.h"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "agent/pg/pg_connection.h"
#include "agent/snapshot/pg_snapshot_source.h"
#include "agent/snapshot/snapshot_catalog.h"
#include "agent/snapshot/table_copier.h"
#include "proto/core/failpoint.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "proto/row_digest.h"
#include "proto/segment_format.h"
#include "sinks/object_store/layout.h"

namespace walship::agent::snapshot {
namespace {

// State shared by the workers and the coordinating thread: the chunks to copy (whole
// tables, or parts of big ones; PlanChunks), and each table's parts as they are done.
class SharedState {
 public:
  SharedState(const std::vector<PublishedTable>& tables, std::vector<ChunkPlan> plan)
      : plan_(std::move(plan)), tables_(tables.size()) {
    for (size_t i = 0; i < plan_.size(); ++i) {
      queue_.push_back(i);
      ++tables_[plan_[i].table].parts_left;
      ++tables_[plan_[i].table].chunks;
    }
    for (TableParts& parts : tables_)
      parts.object_numbers = std::make_unique<std::atomic<uint32_t>>(0);
  }

  // The next chunk to copy, or nullopt when none is left or the snapshot failed.
  std::optional<std::pair<size_t, TableChunk>> Next() {
    absl::MutexLock lock(&mu_);
    if (!status_.ok() || queue_.empty()) return std::nullopt;
    const ChunkPlan& chunk = plan_[queue_.front()];
    queue_.pop_front();
    return std::make_pair(chunk.table, TableChunk{chunk.first_page, chunk.end_page,
                                                  tables_[chunk.table].object_numbers.get()});
  }
  void AddProgress(uint64_t rows, uint64_t bytes) {
    absl::MutexLock lock(&mu_);
    rows_ += rows;
    bytes_ += bytes;
  }
  // One chunk of table `index` is copied: its rows, digest, objects and bytes join the
  // table's; the table is done with its last chunk.
  absl::Status ChunkDone(size_t index, v1::BaseTable chunk) {
    absl::MutexLock lock(&mu_);
    TableParts& parts = tables_[index];
    if (!parts.merged.has_relation()) {
      *parts.merged.mutable_relation() = chunk.relation();
    }
    std::optional<proto::RowDigest> digest =
        proto::RowDigest::FromHex(chunk.row_digest(), chunk.row_count());
    if (!digest) return absl::InternalError("base snapshot: a chunk without a row digest");
    parts.digest.Merge(*digest);
    parts.merged.set_row_count(parts.merged.row_count() + chunk.row_count());
    parts.merged.set_bytes(parts.merged.bytes() + chunk.bytes());
    for (std::string& key : *chunk.mutable_object_keys()) {
      parts.merged.add_object_keys(std::move(key));
    }
    if (--parts.parts_left > 0) return absl::OkStatus();
    // Objects in the order of their numbers, whichever chunk stored them.
    auto* keys = parts.merged.mutable_object_keys();
    std::sort(keys->begin(), keys->end(), [](const std::string& a, const std::string& b) {
      auto pa = sinks::ParseBaseSegmentKey(a), pb = sinks::ParseBaseSegmentKey(b);
      return (pa ? pa->n : 0) < (pb ? pb->n : 0);
    });
    parts.merged.set_row_digest(parts.digest.Hex());
    if (parts.chunks > 1) parts.merged.set_chunks(parts.chunks);
    done_[index] = std::move(parts.merged);
    return absl::OkStatus();
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
  size_t chunks() const { return plan_.size(); }

 private:
  struct TableParts {
    int parts_left = 0;
    int chunks = 0;
    v1::BaseTable merged;
    proto::RowDigest digest;
    std::unique_ptr<std::atomic<uint32_t>> object_numbers;
  };
  absl::Mutex mu_;
  const std::vector<ChunkPlan> plan_;
  std::deque<size_t> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<TableParts> tables_ ABSL_GUARDED_BY(mu_);
  std::map<size_t, v1::BaseTable> done_ ABSL_GUARDED_BY(mu_);
  uint64_t rows_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
};

void RunWorker(SnapshotSource& source, const std::string& snapshot_name,
               const std::vector<PublishedTable>& tables, const CopyTarget& target,
               SharedState* state) {
  auto session = source.OpenInSnapshot(snapshot_name);
  if (!session.ok()) {
    state->Fail(session.status());
    return;
  }
  for (auto next = state->Next(); next.has_value(); next = state->Next()) {
    const auto& [index, chunk] = *next;
    auto copied = (*session)->CopyTable(
        tables[index], chunk, target,
        [state](uint64_t rows, uint64_t bytes) { state->AddProgress(rows, bytes); }, state->stop());
    absl::Status done = copied.ok() ? state->ChunkDone(index, *std::move(copied)) : copied.status();
    if (!done.ok()) {
      state->Fail(done);
      return;
    }
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
                          absl::Duration elapsed) {
  BaseProgress p;
  state.Snapshot(&p.tables_done, &p.rows, &p.bytes);
  p.tables_total = tables_total;
  p.estimated_rows = std::max(estimated_rows, p.rows);
  p.elapsed = elapsed;
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

// Step 1: the replication session and its exported snapshot. It stays idle from here on:
// any command on it would end the snapshot.
struct Export {
  std::unique_ptr<pg::ReplicationSession> repl;
  pg::SystemIdentity identity;
  std::string server_version;
  std::string server_encoding;
  pg::ExportedSnapshot exported;
};

absl::StatusOr<Export> ExportSnapshot(const SnapshotOptions& options, SnapshotSource& source,
                                      absl::Time started, int attempt) {
  Export e;
  WALSHIP_ASSIGN_OR_RETURN(e.repl, source.OpenReplication());
  WALSHIP_RETURN_IF_ERROR(e.repl->CheckServer());
  WALSHIP_ASSIGN_OR_RETURN(e.identity, e.repl->IdentifySystem());
  if (options.expected_timeline != 0 && e.identity.timeline != options.expected_timeline) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "base snapshot: the server is now on timeline %d, not %d (a failover); restart the "
        "agent so that it records the switch",
        e.identity.timeline, options.expected_timeline));
  }
  WALSHIP_ASSIGN_OR_RETURN(e.server_version, e.repl->ShowSetting("server_version"));
  WALSHIP_ASSIGN_OR_RETURN(e.server_encoding, e.repl->ShowSetting("server_encoding"));
  // Per attempt: a retried attempt's predecessor may still be dropping its slot.
  std::string temporary_slot = options.temporary_slot;
  if (temporary_slot.empty()) {
    temporary_slot = absl::StrFormat("walship_base_%d_%d", static_cast<int>(getpid()),
                                     absl::ToUnixSeconds(started));
  }
  if (attempt > 1) absl::StrAppend(&temporary_slot, "_", attempt);
  WALSHIP_ASSIGN_OR_RETURN(e.exported, e.repl->CreateTemporarySlotWithSnapshot(temporary_slot));
  LogInfo("base snapshot: exported snapshot %s at %s (temporary slot \"%s\")",
          e.exported.snapshot_name, e.exported.consistent_point.ToString(), temporary_slot);
  return e;
}

// Step 2: the catalog, read inside the snapshot; its session holds the tables' locks until
// the base is written.
struct Catalog {
  std::unique_ptr<SnapshotSession> session;
  int64_t snapshot_time_us = 0;
  std::vector<PublishedTable> tables;
  std::vector<v1::SequenceValue> sequences;
  std::vector<v1::BaseRole> roles;
  uint64_t estimated_rows = 0;
};

absl::StatusOr<Catalog> ReadCatalog(const SnapshotOptions& options, SnapshotSource& source,
                                    const pg::ExportedSnapshot& exported) {
  Catalog c;
  WALSHIP_ASSIGN_OR_RETURN(c.session, source.OpenInSnapshot(exported.snapshot_name));
  if (options.on_exported) {
    options.on_exported(exported.snapshot_name, exported.consistent_point.value());
  }
  WALSHIP_ASSIGN_OR_RETURN(c.snapshot_time_us, c.session->SourceTimeUs());
  WALSHIP_ASSIGN_OR_RETURN(c.tables, c.session->ReadPublishedTables(options.publication));
  WALSHIP_ASSIGN_OR_RETURN(c.sequences, c.session->ReadSequences());
  WALSHIP_ASSIGN_OR_RETURN(c.roles, c.session->ReadRolesNamed());
  WALSHIP_RETURN_IF_ERROR(c.session->LockAndCheckTables(c.tables, options.lock_timeout));
  if (options.on_locked) options.on_locked();
  for (const PublishedTable& table : c.tables) {
    c.estimated_rows += static_cast<uint64_t>(table.estimated_rows);
  }
  return c;
}

// Step 3: the session settings and the header every base segment carries.
v1::SessionSettings MakeSession(const Export& e) {
  v1::SessionSettings session;
  for (const auto& [name, value] : pg::PinnedSessionSettings()) {
    (*session.mutable_settings())[name] = value;
  }
  session.set_server_version(e.server_version);
  session.set_server_encoding(e.server_encoding);
  return session;
}

v1::SegmentHeader MakeHeader(const SnapshotOptions& options, const Export& e,
                             const v1::SessionSettings& session, absl::Time started) {
  v1::SegmentHeader header;
  header.set_format_version(proto::kSegmentFormatVersion);
  header.set_codec(options.zstd_level == 0 ? v1::CODEC_NONE : v1::CODEC_ZSTD);
  header.set_kind(v1::BASE_SEGMENT);
  *header.mutable_session() = session;
  header.set_system_id(e.identity.system_id);
  header.set_timeline(e.identity.timeline);
  header.set_database(e.identity.database);
  header.set_slot(options.slot);
  header.set_incarnation(options.incarnation);
  header.set_incarnation_id(options.incarnation_id);
  header.set_created_time_us(absl::ToUnixMicros(started));
  return header;
}

struct SchemaDump {
  absl::StatusOr<std::string> pre_data;
  absl::StatusOr<std::string> post_data;
};

// Step 4: workers copy the tables while pg_dump writes the schema beside them; progress
// about once a second. Returns once all are done or one failed (state.status()).
SchemaDump CopyTablesAndSchema(const SnapshotOptions& options, SnapshotSource& source,
                               const std::string& snapshot_name, const Catalog& catalog,
                               const CopyTarget& target, SharedState& state,
                               const ProgressCallback& progress, Clock& clock,
                               absl::Time started) {
  const std::vector<PublishedTable>& tables = catalog.tables;
  std::vector<std::thread> workers;
  int jobs = std::min<int>(options.jobs, std::max<int>(1, static_cast<int>(state.chunks())));
  for (int i = 0; i < jobs; ++i) {
    workers.emplace_back(RunWorker, std::ref(source), std::cref(snapshot_name),
                         std::cref(tables), std::cref(target), &state);
  }
  SchemaDump dump;
  std::atomic<bool> dump_done{false};
  std::thread dumper([&] {
    dump.pre_data = source.DumpSchema(snapshot_name, "pre-data");
    if (dump.pre_data.ok()) dump.post_data = source.DumpSchema(snapshot_name, "post-data");
    if (!dump.pre_data.ok())
      state.Fail(dump.pre_data.status());
    else if (!dump.post_data.ok())
      state.Fail(dump.post_data.status());
    dump_done.store(true);
  });
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
    if (progress && clock.Now() - last_report >= absl::Seconds(1)) {
      last_report = clock.Now();
      progress(MakeProgress(state, static_cast<int>(tables.size()), catalog.estimated_rows,
                            clock.Now() - started));
    }
    clock.SleepFor(absl::Milliseconds(50));
  }
  for (std::thread& worker : workers) worker.join();
  dumper.join();
  return dump;
}

// Step 6: the manifest, from everything the steps before gathered.
v1::BaseManifest MakeManifest(const SnapshotOptions& options, const Export& e, Catalog& catalog,
                              const v1::SessionSettings& session, const SchemaDump& dump,
                              std::map<size_t, v1::BaseTable> done,
                              LargeObjectsCopy large_objects, absl::Time started,
                              absl::Time finished) {
  v1::BaseManifest manifest;
  manifest.set_format_version(kManifestFormatVersion);
  manifest.set_incarnation(options.incarnation);
  manifest.set_incarnation_id(options.incarnation_id);
  manifest.set_system_id(e.identity.system_id);
  manifest.set_timeline(e.identity.timeline);
  manifest.set_database(e.identity.database);
  manifest.set_slot(options.slot);
  manifest.set_snapshot_lsn(e.exported.consistent_point.value());
  manifest.set_snapshot_time_us(catalog.snapshot_time_us);
  manifest.set_started_time_us(absl::ToUnixMicros(started));
  manifest.set_pre_data_sql(*dump.pre_data);
  manifest.set_post_data_sql(*dump.post_data);
  for (auto& [index, table] : done) *manifest.add_tables() = std::move(table);
  for (v1::SequenceValue& sequence : catalog.sequences) {
    *manifest.add_sequences() = std::move(sequence);
  }
  for (v1::BaseRole& role : catalog.roles) *manifest.add_roles() = std::move(role);
  manifest.set_privileges_included(true);
  for (std::string& key : large_objects.keys) manifest.add_large_object_keys(std::move(key));
  for (const std::string& table : options.entered_tables) manifest.add_entered_tables(table);
  manifest.set_entered_lsn(options.entered_lsn.value());
  manifest.set_entered_time_us(options.entered_time_us);
  manifest.set_large_object_count(large_objects.count);
  manifest.set_large_object_bytes(large_objects.bytes);
  *manifest.mutable_session() = session;
  manifest.set_publication(options.publication);
  manifest.set_finished_time_us(absl::ToUnixMicros(finished));
  return manifest;
}

absl::StatusOr<v1::BaseManifest> TakeBaseSnapshotOnce(const SnapshotOptions& options,
                                                      std::vector<sinks::ObjectStore*> stores,
                                                      const ProgressCallback& progress,
                                                      SnapshotSource& source, Clock& clock,
                                                      int attempt) {
  const absl::Time started = clock.Now();
  WALSHIP_ASSIGN_OR_RETURN(Export e, ExportSnapshot(options, source, started, attempt));
  WALSHIP_ASSIGN_OR_RETURN(Catalog catalog, ReadCatalog(options, source, e.exported));

  sinks::StreamId stream{e.identity.system_id, options.slot, options.branch};
  v1::SessionSettings session = MakeSession(e);
  v1::SegmentHeader header = MakeHeader(options, e, session, started);
  CopyTarget target;
  target.stream = &stream;
  target.snapshot_lsn = e.exported.consistent_point;
  target.header = &header;
  target.stores = stores;
  target.batch_bytes = options.batch_bytes;
  target.object_bytes = options.object_bytes;
  target.zstd_level = options.zstd_level;

  std::vector<ChunkPlan> plan = PlanChunks(catalog.tables, options.jobs, options.min_chunk_pages);
  std::map<size_t, int> parts;
  for (const ChunkPlan& chunk : plan) ++parts[chunk.table];
  for (const auto& [index, count] : parts) {
    if (count < 2) continue;
    const v1::Relation& relation = catalog.tables[index].relation;
    LogInfo("base snapshot: copying \"%s.%s\" (%d pages) in %d chunks of pages", relation.schema(),
            relation.table(), catalog.tables[index].pages, count);
  }
  SharedState state(catalog.tables, std::move(plan));
  SchemaDump dump = CopyTablesAndSchema(options, source, e.exported.snapshot_name, catalog,
                                        target, state, progress, clock, started);
  WALSHIP_RETURN_IF_ERROR(state.status());
  // Step 5: the large objects, on the session that holds the snapshot.
  WALSHIP_ASSIGN_OR_RETURN(LargeObjectsCopy large_objects,
                           catalog.session->CopyLargeObjects(target, options.cancel));

  std::map<size_t, v1::BaseTable> done = state.TakeDone();
  if (done.size() != catalog.tables.size()) {
    return absl::InternalError("base snapshot: a table was not copied");
  }
  v1::BaseManifest manifest = MakeManifest(options, e, catalog, session, dump, std::move(done),
                                           std::move(large_objects), started, clock.Now());
  CrashPoint("base_before_manifest");
  std::string key = sinks::BaseManifestKey(stream, e.exported.consistent_point);
  std::string data = manifest.SerializeAsString();
  for (sinks::ObjectStore* store : stores) {
    absl::Status status = store->Put(key, data);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrFormat("writing base manifest \"%s\" to %s: %s",
                                                         key, store->url(), status.message()));
    }
  }
  if (progress) {
    BaseProgress p = MakeProgress(state, static_cast<int>(catalog.tables.size()),
                                  catalog.estimated_rows, clock.Now() - started);
    p.tables_done = static_cast<int>(catalog.tables.size());
    p.eta.reset();
    p.finished = true;
    progress(p);
  }
  LogInfo("base snapshot %s complete: %d tables, %d sequences, written to %d store(s)",
          e.exported.consistent_point.ToString(), manifest.tables_size(),
          manifest.sequences_size(), static_cast<int>(stores.size()));
  return manifest;
}

}  // namespace

absl::StatusOr<v1::BaseManifest> TakeBaseSnapshot(const SnapshotOptions& options,
                                                  std::vector<sinks::ObjectStore*> stores,
                                                  ProgressCallback progress) {
  std::unique_ptr<SnapshotSource> source =
      NewPgSnapshotSource(options.conninfo, options.pg_dump_path);
  return TakeBaseSnapshot(options, std::move(stores), std::move(progress), *source);
}

absl::StatusOr<v1::BaseManifest> TakeBaseSnapshot(const SnapshotOptions& options,
                                                  std::vector<sinks::ObjectStore*> stores,
                                                  ProgressCallback progress,
                                                  SnapshotSource& source, Clock& clock) {
  WALSHIP_RETURN_IF_ERROR(ValidateOptions(options, stores));
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<v1::BaseManifest> manifest =
        TakeBaseSnapshotOnce(options, stores, progress, source, clock, attempt);
    if (manifest.ok() || manifest.status().code() != absl::StatusCode::kAborted ||
        attempt >= options.max_attempts) {
      return manifest;
    }
    // Objects an aborted attempt stored stay without a manifest (CleanIncompleteBases). The
    // DDL that aborted it gets its lock once this attempt's connections are gone.
    absl::Duration pause = std::min(absl::Seconds(attempt), absl::Seconds(5));
    LogWarning("base snapshot attempt %d of %d: %s; retrying in %s", attempt, options.max_attempts,
               manifest.status().message(), absl::FormatDuration(pause));
    for (absl::Time until = clock.Now() + pause; clock.Now() < until;) {
      if (options.cancel != nullptr && options.cancel->load()) {
        return absl::CancelledError("base snapshot cancelled");
      }
      clock.SleepFor(absl::Milliseconds(50));
    }
  }
}

}  // namespace walship::agent::snapshot
