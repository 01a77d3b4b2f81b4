// What the store knows about the history it holds (ARCHITECTURE.md contract 6): index
// objects with a checksum, the slot incarnation records, recorded gaps, and the chain of
// stored segments that the agent resumes from.
#ifndef WALSHIP_SINKS_OBJECT_STORE_STREAM_HISTORY_H_
#define WALSHIP_SINKS_OBJECT_STORE_STREAM_HISTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::sinks {

// Index objects: format 2 is written with a trailing SHA-256 (SegmentIndex.checksum) over
// every byte before it. Decoding checks the checksum (format 2), refuses a newer format by
// name, and checks the end LSN against the key's name. Format 1 (no checksum) is read.
inline constexpr uint32_t kIndexFormatVersion = 2;
std::string EncodeSegmentIndex(v1::SegmentIndex index);
absl::StatusOr<v1::SegmentIndex> DecodeSegmentIndex(absl::string_view key,
                                                    absl::string_view bytes);

// Incarnation records, oldest first. A record whose content or name is wrong is kDataLoss
// naming it; a newer format is refused by name.
inline constexpr uint32_t kIncarnationFormatVersion = 1;
absl::StatusOr<std::vector<v1::StreamIncarnation>> LoadIncarnations(ObjectStore& store,
                                                                    const StreamId& stream);
// Writes the record (once: an existing record with the same id is fine, another is
// kAlreadyExists naming both).
absl::Status PutIncarnation(ObjectStore& store, const StreamId& stream,
                            const v1::StreamIncarnation& record);
std::string EncodeIncarnation(const v1::StreamIncarnation& record);
absl::StatusOr<v1::StreamIncarnation> DecodeIncarnation(absl::string_view key,
                                                        absl::string_view bytes);

// Gap records of one branch, in LSN order.
absl::StatusOr<std::vector<v1::GapRecord>> LoadGapRecords(ObjectStore& store,
                                                          const StreamId& stream);
absl::Status PutGapRecord(ObjectStore& store, const StreamId& stream, const v1::GapRecord& gap);

// The stored change segments of one branch, as the agent sees them when it starts.
struct ChainLink {
  std::string key;
  Lsn first_commit;
  Lsn last_end;
  Lsn previous_end;  // the trailer's previous_end_lsn
};
// Runs of segments each linked to the one before; runs[0] is the oldest.
struct StoredRun {
  Lsn start;  // previous_end of its first segment
  Lsn end;    // last_end of its last segment
  size_t segments = 0;
};
struct StoredChain {
  std::vector<StoredRun> runs;
  // Segments read (their index objects, or the segment's trailer when the index is missing).
  size_t segments_read = 0;
  Lsn End() const { return runs.empty() ? Lsn() : runs.back().end; }
};
// Builds the runs from `links` (any order). A segment wholly covered by an earlier one is
// ignored; a segment starting before the previous one ended joins its run.
StoredChain BuildChain(std::vector<ChainLink> links);
// Lists the branch's wal/ and index/ keys, writes any index a crash left missing, and reads
// the links of the segments ending after `from` (plus the one before them), so that a start
// never reads the whole history.
absl::StatusOr<StoredChain> ReadStoredChain(ObjectStore& store, const StreamId& stream, Lsn from,
                                            const v1::SegmentIndex& identity);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_STREAM_HISTORY_H_
