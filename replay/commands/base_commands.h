// `list` with base snapshots (the recovery window, as clear as `pgbackrest info`) and
// `drill` (restore the previous base plus changes into a scratch database and compare with
// the latest base's per-table checksums taken at the source).
#ifndef WALSHIP_REPLAY_COMMANDS_BASE_COMMANDS_H_
#define WALSHIP_REPLAY_COMMANDS_BASE_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "replay/catalog/base_catalog.h"
#include "replay/catalog/segment_catalog.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// Several lines ending in '\n': every base (LSN, time, tables, rows, size), incomplete
// bases, the recovery window (earliest and latest restorable time and LSN), change segments,
// gaps and sizes.
std::string FormatBaseListing(const BaseCatalog& bases, const SegmentCatalog& changes);

struct DrillOptions {
  int jobs = 4;
  std::optional<absl::Time> to_time;  // also restore to this time and report rows
};

struct DrillReport {
  std::vector<std::string> lines;  // the printed report
  bool equal = false;              // every table matched the latest base's checksums
};

// The scratch database must hold no tables; the drill drops and recreates schemas only
// there. Errors (a corrupt object, a gap, a non-empty scratch database) name the cause.
absl::StatusOr<DrillReport> RunDrill(sinks::ObjectStore* store, const sinks::StreamId& stream,
                                     const std::string& scratch_conninfo,
                                     const DrillOptions& options);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_BASE_COMMANDS_H_
