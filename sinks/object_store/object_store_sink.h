// The object-store sink: groups committed transactions into change segments (group
// commit), makes each durable in an ObjectStore, then writes its index object, and reports
// the end LSN of the last transaction so stored as its durable watermark.
#ifndef WALSHIP_SINKS_OBJECT_STORE_OBJECT_STORE_SINK_H_
#define WALSHIP_SINKS_OBJECT_STORE_OBJECT_STORE_SINK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/core/clock.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"
#include "sinks/sink.h"

namespace walship::sinks {

struct ObjectStoreSinkOptions {
  // Which stream's keys to write ("<system-id>/<slot>/").
  StreamId stream;
  // Copied into every segment header (session settings, system id, timeline, database,
  // slot); format_version, codec, kind and created time are filled in by the sink.
  v1::SegmentHeader header_template;
  // A segment is closed and made durable when it holds this many bytes...
  uint64_t segment_max_bytes = 64ull << 20;
  // ...or when its oldest transaction has waited this long (group commit).
  absl::Duration segment_max_age = absl::Milliseconds(200);
  // Where segment files are built before they are stored (created when missing; leftover
  // files from a crash are removed at start).
  std::string staging_dir;
  // zstd level; 0 stores frames uncompressed.
  int zstd_level = 3;
  // Segments waiting for upload at which the sink reports Backlogged() (push-back).
  int max_pending_segments = 4;
  // Segment ages, header times and upload timings; must outlive the sink.
  Clock* clock = &SystemClock();
  // Called on the uploader thread after each segment and its index are stored (metrics):
  // how long the segment was open, how long storing took, its size and contents.
  struct SegmentStats {
    absl::Duration open_for;
    absl::Duration store_took;
    uint64_t bytes = 0;
    uint64_t events = 0;
    uint64_t transactions = 0;
  };
  std::function<void(const SegmentStats&)> on_segment_stored;

  // The stream identity stamped into every index object (system_id, timeline, incarnation,
  // incarnation_id; the rest is filled in per segment).
  v1::SegmentIndex index_identity;
  // The slot's confirmed position at start: what it resends begins after it. A segment
  // missing from the stored chain after it is written again from the slot; one missing
  // before it is recorded as a gap. A slot confirmed past the stored chain's end (and past
  // `vouched`) is a gap too.
  Lsn slot_confirmed;
  // A position the store vouches for beyond its last segment (the newest heartbeat of this
  // incarnation: no transaction ended between the last segment and it).
  Lsn vouched;
  // The newest complete base's snapshot LSN in this branch (Invalid when none). Only
  // segments ending after min(it, slot_confirmed) are read at start; with no segments
  // stored, the store knows the stream up to it.
  Lsn newest_base;
  // Why the slot may start past the store's end ("slot re-created"), for the gap record.
  std::string new_slot_reason;
  // Filled in by OpenObjectStoreSink: the gaps it recorded (a new base is then due), and the
  // stored runs it will skip while refilling.
  struct OpenReport {
    std::vector<v1::GapRecord> gaps;
    // A gap (new, or recorded by an earlier start that died before its base) ends after
    // the newest base: restores past it need a new base.
    bool base_needed = false;
    size_t refills = 0;
    Lsn stored_end;
  };
  OpenReport* report = nullptr;
};

// Opens the sink: reads the chain of stored segments (each one's previous_end links; any
// index object a crash left missing is written) to find where the contiguous stored stream
// ends. Transactions whose end LSN is at or below that point are already stored and are
// skipped by Write(); the watermark starts there. Missing segments the slot can resend are
// written again (the stored ones after them are skipped); those it cannot are recorded as
// gaps (OpenReport). The store must outlive the sink.
absl::StatusOr<std::unique_ptr<Sink>> OpenObjectStoreSink(ObjectStore* store,
                                                          ObjectStoreSinkOptions options);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_OBJECT_STORE_SINK_H_
