// Takes a consistent base snapshot of the published tables while the main stream goes on:
// a temporary slot's exported snapshot pins the point; N worker connections import it and
// COPY the tables in parallel into base segments; pg_dump writes the schema from the same
// snapshot; the manifest (walship.proto BaseManifest) is written last, to every store.
//
//   SnapshotOptions options;
//   options.conninfo = "host=db dbname=crm user=walship";
//   options.publication = "walship";
//   options.slot = "walship";          // the main slot: names the stream's key prefix
//   options.jobs = 4;
//   WALSHIP_ASSIGN_OR_RETURN(v1::BaseManifest manifest,
//       TakeBaseSnapshot(options, {store.get()}, MakeDefaultProgressRenderer(STDERR_FILENO)));
//
// A base taken at manifest.snapshot_lsn() holds every transaction that committed before it;
// replay applies the change-segment transactions whose commit LSN is >= it. The main slot
// must therefore have been created at or before that point (it always is when it exists
// before this call). If the call fails (crash, lost connection, cancel) no manifest is
// written; objects already stored stay until CleanIncompleteBases (retention.h) removes
// them, and the snapshot is simply taken again.
#ifndef WALSHIP_AGENT_SNAPSHOT_BASE_SNAPSHOTTER_H_
#define WALSHIP_AGENT_SNAPSHOT_BASE_SNAPSHOTTER_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "absl/time/time.h"
#include "agent/snapshot/base_progress.h"
#include "agent/snapshot/snapshot_source.h"
#include "proto/core/clock.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/object_store.h"

namespace walship::agent::snapshot {

// Format 2 adds the slot incarnation, 3 BaseTable.row_digest (instead of the sorted
// checksum) and tables copied in chunks; formats 1 and 2 are still read.
inline constexpr uint32_t kManifestFormatVersion = 3;

struct SnapshotOptions {
  // The source database (key=value or URI), without replication=; the snapshotter opens
  // its own replication connection from it (and jobs + 1 ordinary ones).
  std::string conninfo;
  // The publication whose tables are copied.
  std::string publication;
  // The main slot's name: recorded in the manifest and segment headers, and part of every
  // key ("<system-id>/<slot>/base/<lsn16>/...").
  std::string slot;
  // The stream's branch and slot incarnation (StreamIncarnation), recorded in the manifest
  // and segment headers; the branch is part of every key. A server found on another
  // timeline than `expected_timeline` (when set) is refused: the stream must first notice
  // the switch.
  std::string branch;
  uint32_t incarnation = 0;
  std::string incarnation_id;
  uint32_t expected_timeline = 0;
  // Name of the temporary slot; empty: "walship_base_<pid>_<unix-seconds>".
  std::string temporary_slot;
  // --snapshot-jobs: tables copied in parallel (>= 1).
  int jobs = 4;
  // pg_dump binary; empty: DefaultPgDumpPath().
  std::string pg_dump_path;
  // Segment shape: zstd level (0: uncompressed), COPY bytes per CopyRows record, raw bytes
  // per object.
  int zstd_level = 3;
  uint64_t batch_bytes = 1 << 20;
  uint64_t object_bytes = 64 << 20;
  // Tables of at least twice this many pages (and twice their share of all pages) are
  // copied in parts by CTID range on several of the jobs' connections (PlanChunks).
  uint64_t min_chunk_pages = 8192;
  // Longest wait for the ACCESS SHARE locks on the published tables (a DDL transaction may
  // hold them); a snapshot whose tables changed or could not be locked is retaken, up to
  // max_attempts in all.
  absl::Duration lock_timeout = absl::Minutes(1);
  int max_attempts = 5;
  // When set and turned true (e.g. on SIGTERM), the snapshot stops with kCancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Recorded in the manifest (BaseManifest.entered_*): tables that entered the publication
  // with rows no change event carries, and where; empty for a base taken by policy.
  std::vector<std::string> entered_tables;
  Lsn entered_lsn;
  int64_t entered_time_us = 0;
  // Test hook: called on every attempt once the snapshot is exported and before any table
  // is read or locked, with the
  // snapshot's name and consistent point (importable while the call runs and until the
  // function returns).
  std::function<void(const std::string& snapshot_name, uint64_t consistent_point)> on_exported;
  // Test hook: called on every attempt once the tables are locked and checked, before any
  // worker or pg_dump starts.
  std::function<void()> on_locked;
};

// Takes one base snapshot and writes it to every store in `stores` (same bytes; borrowed,
// must outlive the call; at least one). `progress` may be empty. Blocks until done; call it
// from a thread of its own to keep streaming. Errors: kInvalidArgument for bad options,
// kFailedPrecondition (publication missing, wal_level, pg_dump missing), kAborted (tables
// kept changing under DDL through every attempt), kUnavailable
// (connection lost, snapshot gone: retry later), kCancelled, store errors as the store
// returns them.
absl::StatusOr<v1::BaseManifest> TakeBaseSnapshot(const SnapshotOptions& options,
                                                  std::vector<sinks::ObjectStore*> stores,
                                                  ProgressCallback progress);
// The same over `source` (the one above uses NewPgSnapshotSource(options.conninfo,
// options.pg_dump_path)), timing with `clock`; both must outlive the call.
absl::StatusOr<v1::BaseManifest> TakeBaseSnapshot(const SnapshotOptions& options,
                                                  std::vector<sinks::ObjectStore*> stores,
                                                  ProgressCallback progress,
                                                  SnapshotSource& source,
                                                  Clock& clock = SystemClock());

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_BASE_SNAPSHOTTER_H_
