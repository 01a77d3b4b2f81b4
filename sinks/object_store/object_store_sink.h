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
  // Segments waiting for upload before Write() blocks (push-back).
  int max_pending_segments = 4;
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
};

// Opens the sink: lists the stream's wal/ and index/ keys to find where the stored stream
// ends (writing any index object a crash left missing). Transactions whose end LSN is at or
// below that point are already stored and are skipped by Write(); the watermark starts
// there. The store must outlive the sink.
absl::StatusOr<std::unique_ptr<Sink>> OpenObjectStoreSink(ObjectStore* store,
                                                          ObjectStoreSinkOptions options);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_OBJECT_STORE_SINK_H_
