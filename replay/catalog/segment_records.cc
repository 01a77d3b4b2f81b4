// Segment reading for replay.
#include "replay/catalog/segment_records.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "proto/segment_reader.h"
#include "sinks/object_store/layout.h"

namespace walship::replay {

absl::StatusOr<bool> ForEachSegmentRecord(
    sinks::ObjectStore* store, const CatalogSegment& segment,
    absl::FunctionRef<absl::StatusOr<bool>(const v1::Record&)> fn) {
  return ForEachSegmentRecord(store, segment, [fn](v1::Record* record) { return fn(*record); });
}

absl::StatusOr<bool> ForEachSegmentRecord(sinks::ObjectStore* store, const CatalogSegment& segment,
                                          absl::FunctionRef<absl::StatusOr<bool>(v1::Record*)> fn) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::RandomAccessSource> source,
                           store->Open(segment.segment_key));
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::SegmentReader> reader,
                           proto::SegmentReader::Open(source.get()));
  if (reader->header().kind() != v1::CHANGE_SEGMENT) {
    return absl::DataLossError(
        absl::StrFormat("object \"%s\" is not a change segment", segment.segment_key));
  }
  if (reader->trailer().part_number() != 0) {
    return absl::DataLossError(absl::StrFormat(
        "object \"%s\" is a part of a split segment, not a segment", segment.segment_key));
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
  const auto& parts = reader->trailer().parts();
  for (int i = 0; i < parts.size(); ++i) {
    WALSHIP_ASSIGN_OR_RETURN(OpenedPart part,
                             OpenSegmentPart(store, segment.segment_key, parts[i], i + 1));
    while (true) {
      WALSHIP_ASSIGN_OR_RETURN(bool more, part.reader->Next(&record));
      if (!more) break;
      WALSHIP_ASSIGN_OR_RETURN(bool go_on, fn(&record));
      if (!go_on) return false;
    }
  }
  while (true) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) return true;
    WALSHIP_ASSIGN_OR_RETURN(bool go_on, fn(&record));
    if (!go_on) return false;
  }
}

absl::StatusOr<OpenedPart> OpenSegmentPart(sinks::ObjectStore* store,
                                           absl::string_view segment_key,
                                           const v1::SegmentPartRef& ref, int number) {
  auto damaged = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrFormat(
        "part %d (\"%s\") of segment \"%s\" %s; the segment cannot be read whole",
        number, absl::CHexEscape(ref.key()), segment_key, why));
  };
  if (!sinks::IsPartKeyOfSegment(ref.key(), segment_key)) {
    return damaged("is named outside the segment's own part/ directory (a damaged header)");
  }
  OpenedPart part;
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> source = store->Open(ref.key());
  if (absl::IsNotFound(source.status())) return damaged("is missing from the store");
  WALSHIP_RETURN_IF_ERROR(source.status());
  part.source = *std::move(source);
  if (part.source->size() != ref.bytes()) {
    return damaged(absl::StrFormat("holds %d bytes, the segment names %d", part.source->size(),
                                   ref.bytes()));
  }
  WALSHIP_ASSIGN_OR_RETURN(part.reader, proto::SegmentReader::Open(part.source.get()));
  if (part.reader->digest() != ref.sha256()) {
    return damaged("is not the object the segment names (its SHA-256 differs)");
  }
  if (part.reader->header().kind() != v1::CHANGE_SEGMENT ||
      part.reader->trailer().part_number() != static_cast<uint32_t>(number) ||
      part.reader->header().continued() != (number > 1)) {
    return damaged(absl::StrFormat("is not marked as part %d of a change segment", number));
  }
  return part;
}

}  // namespace walship::replay
