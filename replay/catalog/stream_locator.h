// Finds the streams ("<system-id>/<slot>/") stored in an object store and picks the one a
// command means.
#ifndef WALSHIP_REPLAY_CATALOG_STREAM_LOCATOR_H_
#define WALSHIP_REPLAY_CATALOG_STREAM_LOCATOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// Every stream that has at least one index or wal object, sorted by system id then slot.
absl::StatusOr<std::vector<sinks::StreamId>> FindStreams(sinks::ObjectStore* store);

// Picks the stream: the only one stored, or the one matching `system_id` / `slot` (empty
// means "any"). None or several matching is kFailedPrecondition (nothing stored) or
// kInvalidArgument listing the choices ("... use --system-id and --slot: 7340.../walship").
absl::StatusOr<sinks::StreamId> ResolveStream(sinks::ObjectStore* store,
                                              const std::string& system_id,
                                              const std::string& slot);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_CATALOG_STREAM_LOCATOR_H_
