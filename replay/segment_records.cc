// Segment reading for replay.
#include "replay/segment_records.h"

#include "absl/strings/str_format.h"
#include "agent/base/lsn.h"
#include "agent/base/status_macros.h"
#include "proto/segment_reader.h"

namespace walship::replay {

absl::StatusOr<bool> ForEachSegmentRecord(
    sinks::ObjectStore* store, const CatalogSegment& segment,
    absl::FunctionRef<absl::StatusOr<bool>(const v1::Record&)> fn) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::RandomAccessSource> source,
                           store->Open(segment.segment_key));
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::SegmentReader> reader,
                           proto::SegmentReader::Open(source.get()));
  if (reader->header().kind() != v1::CHANGE_SEGMENT) {
    return absl::DataLossError(
        absl::StrFormat("object \"%s\" is not a change segment", segment.segment_key));
  }
  if (reader->trailer().last_end_lsn() != segment.trailer.last_end_lsn() ||
      reader->trailer().first_commit_lsn() != segment.trailer.first_commit_lsn()) {
    return absl::DataLossError(
        absl::StrFormat("segment \"%s\" covers %s to %s but its index object \"%s\" says %s to %s",
                        segment.segment_key, Lsn(reader->trailer().first_commit_lsn()).ToString(),
                        Lsn(reader->trailer().last_end_lsn()).ToString(), segment.index_key,
                        Lsn(segment.trailer.first_commit_lsn()).ToString(),
                        Lsn(segment.trailer.last_end_lsn()).ToString()));
  }
  v1::Record record;
  while (true) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) return true;
    WALSHIP_ASSIGN_OR_RETURN(bool go_on, fn(record));
    if (!go_on) return false;
  }
}

}  // namespace walship::replay
