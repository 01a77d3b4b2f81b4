// The stored change segments of one stream, ordered into a chain from their index objects
// only (contract 4: finding the recovery window never reads a segment), with the gaps and
// overlaps in that chain.
#ifndef WALSHIP_REPLAY_CATALOG_SEGMENT_CATALOG_H_
#define WALSHIP_REPLAY_CATALOG_SEGMENT_CATALOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// One change segment as its index object describes it.
struct CatalogSegment {
  std::string index_key;
  std::string segment_key;  // full key from the store's root
  uint64_t segment_bytes = 0;
  v1::SegmentTrailer trailer;
};

// Missing history: no stored segment covers the LSN range [from, to). `next` is the index
// (in segments()) of the segment right after the gap; `previous_key` is the segment before
// it, empty when the gap is at the start of the stream.
struct StreamGap {
  Lsn from;
  Lsn to;
  size_t next = 0;
  std::string previous_key;
  std::string next_key;
};

// Immutable after construction; thread-compatible.
class SegmentCatalog {
 public:
  // Lists "<stream>/index/*.idx" and reads each index object. A malformed index object is
  // kDataLoss naming its key; objects whose names do not parse are skipped.
  static absl::StatusOr<SegmentCatalog> Load(sinks::ObjectStore* store,
                                             const sinks::StreamId& stream);
  // Builds the chain from index objects already read (order does not matter).
  static absl::StatusOr<SegmentCatalog> Build(sinks::StreamId stream,
                                              std::vector<CatalogSegment> segments);

  const sinks::StreamId& stream() const { return stream_; }
  // The chain in commit order. Segments wholly covered by an earlier one (written twice
  // after a crash) are left out and counted in redundant_count().
  const std::vector<CatalogSegment>& segments() const { return segments_; }
  const std::vector<StreamGap>& gaps() const { return gaps_; }
  // Segments that start before the previous one ended (their repeated transactions are
  // dropped by position when applied).
  size_t overlap_count() const { return overlap_count_; }
  size_t redundant_count() const { return redundant_count_; }

 private:
  sinks::StreamId stream_;
  std::vector<CatalogSegment> segments_;
  std::vector<StreamGap> gaps_;
  size_t overlap_count_ = 0;
  size_t redundant_count_ = 0;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_CATALOG_SEGMENT_CATALOG_H_
