// `list`, `status`, `verify` and `drill`: the commands that read a store or compare
// databases and write nothing to a target.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "agent/pg/pg_connection.h"
#include "proto/core/status_macros.h"
#include "replay/catalog/base_catalog.h"
#include "replay/catalog/segment_catalog.h"
#include "replay/catalog/stream_locator.h"
#include "replay/commands/stream_summary.h"
#include "replay/catalog/timeline_path.h"
#include "replay/commands/base_commands.h"
#include "replay/commands/commands.h"
#include "replay/commands/status_command.h"
#include "replay/commands/store_access.h"
#include "replay/commands/verifier.h"
#include "replay/plan/recovery_target.h"

namespace walship::replay {

absl::Status RunList(const ReplayConfig& config) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store, OpenStore(config));
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::StreamId> streams, FindStreams(store.get()));
  if (streams.empty()) {
    absl::PrintF("object store %s holds no streams\n", store->url());
    return absl::OkStatus();
  }
  for (const sinks::StreamId& stream : streams) {
    if (!config.system_id.empty() && stream.system_id != config.system_id) continue;
    if (!config.slot.empty() && stream.slot != config.slot) continue;
    WALSHIP_ASSIGN_OR_RETURN(StreamHistory history, LoadStreamHistory(store.get(), stream));
    for (const StreamBranch& branch : history.branches) {
      WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog,
                               SegmentCatalog::Load(store.get(), branch.stream));
      WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(store.get(), branch.stream));
      std::string text = bases.bases().empty() && bases.incomplete().empty()
                             ? FormatSummary(Summarize(catalog))
                             : FormatBaseListing(bases, catalog);
      if (history.branches.size() > 1 || branch.timeline != 0) {
        // "stream S/slot" becomes "stream S/slot, timeline N".
        size_t eol = text.find('\n');
        text.insert(eol == std::string::npos ? text.size() : eol,
                    absl::StrFormat(", timeline %d%s", branch.timeline,
                                    branch.stream.branch.empty()
                                        ? ""
                                        : absl::StrCat(" (objects under \"",
                                                       branch.stream.branch, "/\")")));
      }
      absl::PrintF("%s", text);
    }
    absl::PrintF("%s", FormatHistory(history));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> RunDrillCommand(const ReplayConfig& config) {
  WarnOnPassword("--scratch", config.scratch);
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store, OpenStore(config));
  WALSHIP_ASSIGN_OR_RETURN(sinks::StreamId root,
                           ResolveStream(store.get(), config.system_id, config.slot));
  WALSHIP_ASSIGN_OR_RETURN(StreamHistory history, LoadStreamHistory(store.get(), root));
  sinks::StreamId stream = NewestBranch(history, root);
  DrillOptions options;
  options.jobs = config.jobs;
  if (!config.to_time.empty()) {
    WALSHIP_ASSIGN_OR_RETURN(options.to_time,
                             ParseTargetTime(config.to_time, absl::LocalTimeZone()));
  }
  WALSHIP_ASSIGN_OR_RETURN(DrillReport report,
                           RunDrill(store.get(), stream, config.scratch, options));
  for (const std::string& line : report.lines) absl::PrintF("%s\n", line);
  return report.equal;
}

absl::Status RunStatus(const ReplayConfig& config) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store, OpenStore(config));
  WALSHIP_ASSIGN_OR_RETURN(StoreStatus status,
                           CollectStatus(store.get(), config.system_id, config.slot));
  absl::PrintF("%s", FormatStatus(status, absl::Now()));
  return absl::OkStatus();
}

absl::StatusOr<bool> RunVerify(const ReplayConfig& config) {
  WarnOnPassword("--source", config.source);
  WarnOnPassword("--target", config.target);
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<agent::pg::PgConnection> source,
                           agent::pg::PgConnection::Connect(config.source, agent::pg::ConnectionKind::kNormal));
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<agent::pg::PgConnection> target,
                           agent::pg::PgConnection::Connect(config.target, agent::pg::ConnectionKind::kNormal));
  VerifyOptions options;
  options.tables = config.tables;
  WALSHIP_ASSIGN_OR_RETURN(VerifyResult result, Verify(source.get(), target.get(), options));
  if (result.equal()) {
    absl::PrintF("equal (%d tables)\n", result.tables_compared);
    return true;
  }
  for (const std::string& difference : result.differences) absl::PrintF("%s\n", difference);
  return false;
}

}  // namespace walship::replay
