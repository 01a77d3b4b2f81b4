// Reads the records of one stored change segment, checked (footer, checksum, header kind,
// and the trailer against the index object that planned it).
#ifndef WALSHIP_REPLAY_SEGMENT_RECORDS_H_
#define WALSHIP_REPLAY_SEGMENT_RECORDS_H_

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "proto/walship.pb.h"
#include "replay/segment_catalog.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// Calls `fn` for every record in order until it returns false or an error. Returns true
// when every record was visited, false when `fn` stopped early.
absl::StatusOr<bool> ForEachSegmentRecord(
    sinks::ObjectStore* store, const CatalogSegment& segment,
    absl::FunctionRef<absl::StatusOr<bool>(const v1::Record&)> fn);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_SEGMENT_RECORDS_H_
