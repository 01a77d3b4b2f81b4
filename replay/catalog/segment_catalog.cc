// Chain building: order by commit LSN, follow previous_end_lsn -> last_end_lsn links.
#include "replay/catalog/segment_catalog.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/stream_history.h"

namespace walship::replay {

absl::StatusOr<SegmentCatalog> SegmentCatalog::Load(sinks::ObjectStore* store,
                                                    const sinks::StreamId& stream) {
  std::string prefix = absl::StrCat(stream.Prefix(), "index/");
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> objects, store->List(prefix));
  std::vector<CatalogSegment> segments;
  for (const sinks::ObjectInfo& object : objects) {
    std::optional<Lsn> end = sinks::ParseSegmentIndexKey(object.key);
    if (!end) continue;
    WALSHIP_ASSIGN_OR_RETURN(std::string bytes, store->Get(object.key));
    WALSHIP_ASSIGN_OR_RETURN(v1::SegmentIndex index, sinks::DecodeSegmentIndex(object.key, bytes));
    if (!index.system_id().empty() && index.system_id() != stream.system_id) {
      return absl::DataLossError(absl::StrFormat(
          "index object \"%s\" belongs to database system %s, not to the stream's %s",
          object.key, index.system_id(), stream.system_id));
    }
    CatalogSegment segment;
    segment.index_key = object.key;
    segment.segment_bytes = index.segment_bytes();
    segment.segment_key = index.segment_key();
    if (segment.segment_key.empty()) {
      segment.segment_key =
          sinks::WalSegmentKey(stream, Lsn(index.trailer().first_commit_lsn()), *end);
    } else if (!absl::StartsWith(segment.segment_key, stream.Prefix())) {
      segment.segment_key = absl::StrCat(stream.Prefix(), segment.segment_key);
    }
    segment.trailer = index.trailer();
    segments.push_back(std::move(segment));
  }
  return Build(stream, std::move(segments));
}

absl::StatusOr<SegmentCatalog> SegmentCatalog::Build(sinks::StreamId stream,
                                                     std::vector<CatalogSegment> segments) {
  std::sort(segments.begin(), segments.end(), [](const CatalogSegment& a, const CatalogSegment& b) {
    if (a.trailer.first_commit_lsn() != b.trailer.first_commit_lsn()) {
      return a.trailer.first_commit_lsn() < b.trailer.first_commit_lsn();
    }
    return a.trailer.last_end_lsn() < b.trailer.last_end_lsn();
  });
  SegmentCatalog catalog;
  catalog.stream_ = std::move(stream);
  uint64_t chain_end = 0;  // 0: the start of the stream
  for (CatalogSegment& segment : segments) {
    const v1::SegmentTrailer& trailer = segment.trailer;
    if (trailer.last_end_lsn() < trailer.first_commit_lsn()) {
      return absl::DataLossError(absl::StrFormat(
          "index object \"%s\" has its end LSN before its first commit LSN", segment.index_key));
    }
    if (!catalog.segments_.empty() && trailer.last_end_lsn() <= chain_end) {
      ++catalog.redundant_count_;
      continue;
    }
    if (trailer.previous_end_lsn() > chain_end) {
      StreamGap gap;
      gap.from = Lsn(chain_end);
      gap.to = Lsn(trailer.previous_end_lsn());
      gap.next = catalog.segments_.size();
      if (!catalog.segments_.empty()) gap.previous_key = catalog.segments_.back().segment_key;
      gap.next_key = segment.segment_key;
      catalog.gaps_.push_back(std::move(gap));
    } else if (trailer.previous_end_lsn() < chain_end) {
      ++catalog.overlap_count_;
    }
    chain_end = trailer.last_end_lsn();
    catalog.segments_.push_back(std::move(segment));
  }
  return catalog;
}

}  // namespace walship::replay
