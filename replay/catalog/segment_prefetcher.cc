// Decoding change segments ahead, in parallel.
#include "replay/catalog/segment_prefetcher.h"

#include <utility>

#include "replay/catalog/segment_records.h"

namespace walship::replay {

SegmentPrefetcher::SegmentPrefetcher(sinks::ObjectStore* store,
                                     const std::vector<CatalogSegment>& segments, int threads,
                                     size_t ahead)
    : store_(store), segments_(segments), ahead_(ahead < 1 ? 1 : ahead) {
  for (int i = 0; i < (threads < 1 ? 1 : threads); ++i) threads_.emplace_back([this] { Decode(); });
}

SegmentPrefetcher::~SegmentPrefetcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void SegmentPrefetcher::Decode() {
  while (true) {
    size_t index;
    {
      absl::MutexLock lock(&mu_);
      auto may_start = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || next_ >= segments_.size() || next_ < taken_ + ahead_;
      };
      mu_.Await(absl::Condition(&may_start));
      if (stop_ || next_ >= segments_.size()) return;
      index = next_++;
    }
    std::vector<v1::Record> records;
    absl::StatusOr<bool> read =
        ForEachSegmentRecord(store_, segments_[index], [&](v1::Record* record) {
          records.emplace_back().Swap(record);
          return true;
        });
    absl::MutexLock lock(&mu_);
    if (read.ok()) {
      done_.emplace(index, std::move(records));
    } else {
      done_.emplace(index, read.status());
    }
  }
}

absl::StatusOr<std::vector<v1::Record>> SegmentPrefetcher::Take(size_t index) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, index]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_.contains(index); };
  mu_.Await(absl::Condition(&ready));
  auto it = done_.find(index);
  absl::StatusOr<std::vector<v1::Record>> records = std::move(it->second);
  done_.erase(it);
  taken_ = index + 1;
  return records;
}

}  // namespace walship::replay
