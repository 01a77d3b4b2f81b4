// Reads the records of one stored change segment, checked (footer, checksum, header kind,
// and the trailer against the index object that planned it).
#ifndef WALSHIP_REPLAY_CATALOG_SEGMENT_RECORDS_H_
#define WALSHIP_REPLAY_CATALOG_SEGMENT_RECORDS_H_

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "proto/segment_reader.h"
#include "proto/walship.pb.h"
#include "replay/catalog/segment_catalog.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// Calls `fn` for every record in order until it returns false or an error. Returns true
// when every record was visited, false when `fn` stopped early. A segment split across
// objects is read whole: the records of its parts (checked as OpenSegmentPart does) come
// first, then its own.
absl::StatusOr<bool> ForEachSegmentRecord(
    sinks::ObjectStore* store, const CatalogSegment& segment,
    absl::FunctionRef<absl::StatusOr<bool>(const v1::Record&)> fn);
// The same, handing each record over to be taken (swapped out) by `fn`.
absl::StatusOr<bool> ForEachSegmentRecord(sinks::ObjectStore* store, const CatalogSegment& segment,
                                          absl::FunctionRef<absl::StatusOr<bool>(v1::Record*)> fn);

// Opens and checks part `number` (from 1) of the segment stored under `segment_key` whose
// trailer names it as `ref`: the key lies in the segment's own branch, the object's size and
// footer SHA-256 are the ones named, and it is a change segment marked as that part. The
// returned reader reads from `*source`.
struct OpenedPart {
  std::unique_ptr<proto::RandomAccessSource> source;
  std::unique_ptr<proto::SegmentReader> reader;
};
absl::StatusOr<OpenedPart> OpenSegmentPart(sinks::ObjectStore* store,
                                           absl::string_view segment_key,
                                           const v1::SegmentPartRef& ref, int number);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_CATALOG_SEGMENT_RECORDS_H_
