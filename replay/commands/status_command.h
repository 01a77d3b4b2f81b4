// `walship-replay status`: the operator's one-screen view of what a store holds, from the
// store alone: per stream the last durable position and its commit time, the last
// heartbeat, the recovery window, the last base snapshot and its age, object count and size.
// Reads only listings, index objects, the newest heartbeat and the newest base manifest.
#ifndef WALSHIP_REPLAY_COMMANDS_STATUS_COMMAND_H_
#define WALSHIP_REPLAY_COMMANDS_STATUS_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "replay/commands/stream_summary.h"
#include "sinks/object_store/heartbeat.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct BaseSnapshotStatus {
  std::string manifest_key;
  Lsn snapshot_lsn;
  // From the manifest; unset when it could not be read (see `error`).
  std::optional<absl::Time> snapshot_time;
  std::optional<absl::Time> finished_time;
  size_t table_count = 0;
  uint64_t row_count = 0;
  std::string error;  // why the manifest could not be read, empty when it was
};

struct StreamStatus {
  StreamSummary summary;  // segments, LSN and commit-time range, gaps
  // The first position a restore can reach with the stored history: the newest base
  // snapshot's LSN when there is one after the last gap, else the first commit after it.
  Lsn window_start;
  std::optional<absl::Time> window_start_time;
  std::optional<sinks::Heartbeat> heartbeat;
  std::string heartbeat_error;  // the newest heartbeat object was unreadable
  std::optional<BaseSnapshotStatus> base;
  size_t base_snapshot_count = 0;
  uint64_t object_count = 0;
  uint64_t total_bytes = 0;
  // The newest incarnation (timeline, number, why it started) and the gaps recorded in its
  // branch; empty for a store written before incarnation records.
  std::string incarnation;
  std::vector<v1::GapRecord> recorded_gaps;
  size_t timelines = 1;
};

struct StoreStatus {
  std::string url;
  std::vector<StreamStatus> streams;
  uint64_t object_count = 0;  // everything in the store, streams or not
  uint64_t total_bytes = 0;
};

// Streams filtered by `system_id` / `slot` (empty: all). An unreadable heartbeat or
// manifest is reported in the result, not as an error; a malformed index object is.
absl::StatusOr<StoreStatus> CollectStatus(sinks::ObjectStore* store, const std::string& system_id,
                                          const std::string& slot);

// The screen, ages relative to `now`; ends with '\n'.
std::string FormatStatus(const StoreStatus& status, absl::Time now);

// "45s", "3m 20s", "2h 5m", "3d 4h".
std::string FormatAge(absl::Duration age);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_STATUS_COMMAND_H_
