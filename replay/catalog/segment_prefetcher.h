// Reads and decodes change segments ahead of their consumer, on threads of its own, and hands
// their records over in segment order: a reader of a long change window (the fold) spends
// its time on the records, not on decompressing and parsing them.
#ifndef WALSHIP_REPLAY_CATALOG_SEGMENT_PREFETCHER_H_
#define WALSHIP_REPLAY_CATALOG_SEGMENT_PREFETCHER_H_

#include <cstddef>
#include <map>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/walship.pb.h"
#include "replay/catalog/segment_catalog.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// Usage: Take(0), Take(1), ... in order, each once. Segments are read as
// ForEachSegmentRecord reads them (checked the same way). At most `ahead` segments are
// decoded and not yet taken. The store and `segments` must outlive the prefetcher, and the
// store must be thread-safe. Destruction stops the threads (a consumer may stop early).
class SegmentPrefetcher {
 public:
  SegmentPrefetcher(sinks::ObjectStore* store, const std::vector<CatalogSegment>& segments,
                    int threads, size_t ahead);
  ~SegmentPrefetcher();
  SegmentPrefetcher(const SegmentPrefetcher&) = delete;
  SegmentPrefetcher& operator=(const SegmentPrefetcher&) = delete;

  // The records of segments[index], waiting for them; its error when it could not be read.
  absl::StatusOr<std::vector<v1::Record>> Take(size_t index);

 private:
  void Decode();

  sinks::ObjectStore* store_;
  const std::vector<CatalogSegment>& segments_;
  const size_t ahead_;
  absl::Mutex mu_;
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;   // the next segment a thread decodes
  size_t taken_ ABSL_GUARDED_BY(mu_) = 0;  // segments handed over
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::map<size_t, absl::StatusOr<std::vector<v1::Record>>> done_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_CATALOG_SEGMENT_PREFETCHER_H_
