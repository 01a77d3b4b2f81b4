// `restore`: choose the branch, resolve the target once, plan, and restore from a base (or,
// without one, apply the changes alone).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "agent/pg/pg_connection.h"
#include "proto/core/log.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "replay/apply/restorer.h"
#include "replay/catalog/base_catalog.h"
#include "replay/catalog/object_cache.h"
#include "replay/catalog/segment_catalog.h"
#include "replay/catalog/stream_locator.h"
#include "replay/catalog/timeline_path.h"
#include "replay/commands/base_restorer.h"
#include "replay/commands/commands.h"
#include "replay/commands/store_access.h"
#include "replay/plan/base_planner.h"
#include "replay/plan/recovery_target.h"
#include "replay/plan/restore_planner.h"
#include "replay/plan/target_resolver.h"

namespace walship::replay {
namespace {

// Ends a plan on an older timeline's branch at the next timeline's switch point: only the
// transactions both timelines share belong to the path.
void LimitToBranch(RestorePlan* plan, Lsn limit) {
  if (!limit.valid()) return;
  plan->last_commit_lsn = std::min(plan->last_commit_lsn, Lsn(limit.value() - 1));
  while (!plan->segments.empty() &&
         plan->segments.back().trailer.first_commit_lsn() >= limit.value()) {
    plan->segments.pop_back();
  }
}

// The branch (timeline) of the store a restore reads, and where on it the path ends.
struct ChosenBranch {
  sinks::StreamId stream;
  Lsn limit;  // Invalid: none
  // The target resolved on this branch, when choosing it needed that (resolved_known).
  bool resolved_known = false;
  RecoveryTarget resolved;
};

absl::StatusOr<ChosenBranch> ChooseBranch(sinks::ObjectStore* store, const sinks::StreamId& root,
                                          const ReplayConfig& config,
                                          const RecoveryTarget& target) {
  WALSHIP_ASSIGN_OR_RETURN(StreamHistory history, LoadStreamHistory(store, root));
  WALSHIP_ASSIGN_OR_RETURN(std::vector<PathStep> path, TimelinePath(history, config.timeline));
  size_t chosen = path.size() - 1;
  bool resolved_known = false;
  RecoveryTarget resolved_on_chosen;
  if (path.size() > 1 && target.kind != RecoveryTarget::Kind::kEverything) {
    // The newest branch on the path whose window starts at or before the target.
    for (size_t i = path.size(); i-- > 0;) {
      const sinks::StreamId& stream = path[i].branch->stream;
      WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(store, stream));
      bool fits = false;
      if (target.kind == RecoveryTarget::Kind::kTime) {
        fits = !bases.bases().empty() && bases.bases().front().manifest.snapshot_time_us() <=
                                             absl::ToUnixMicros(target.time);
      } else if (target.kind == RecoveryTarget::Kind::kLsn) {
        fits = !bases.bases().empty() && bases.bases().front().snapshot_lsn() <= target.lsn;
      } else {
        WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog, SegmentCatalog::Load(store, stream));
        absl::StatusOr<RecoveryTarget> resolved = ResolveTarget(store, catalog, target);
        fits = resolved.ok() && (!path[i].limit.valid() || resolved->lsn < path[i].limit);
        resolved_known = resolved.ok();
        if (resolved.ok()) resolved_on_chosen = *resolved;
      }
      chosen = i;
      if (fits) break;
    }
  }
  const PathStep& step = path[chosen];
  ChosenBranch result{step.branch->stream, step.limit, resolved_known, resolved_on_chosen};
  if (!step.limit.valid()) return result;
  // On an older timeline: the target must lie before the switch.
  const StreamBranch& next = *path[chosen + 1].branch;
  bool after = false;
  if (target.kind == RecoveryTarget::Kind::kLsn) after = target.lsn >= step.limit;
  if (target.kind == RecoveryTarget::Kind::kTime) {
    after = next.switch_time_us != 0 && absl::ToUnixMicros(target.time) >= next.switch_time_us;
  }
  if (after) {
    WALSHIP_ASSIGN_OR_RETURN(BaseCatalog next_bases, BaseCatalog::Load(store, next.stream));
    std::string next_start =
        next_bases.bases().empty()
            ? std::string("has no complete base yet")
            : absl::StrFormat("is restorable from its first base at %s (LSN %s)",
                              FormatUtcMicros(next_bases.bases().front().manifest.snapshot_time_us()),
                              next_bases.bases().front().snapshot_lsn().ToString());
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s lies after timeline %d switched to timeline %d at LSN %s (%s), before timeline %d "
        "is restorable: the nearest restorable points are just before the switch (--to-lsn "
        "%s, or a time before %s) and timeline %d, which %s. --timeline %d restores timeline "
        "%d's own history past the switch (what the former primary wrote)",
        target.Describe(), next.parent_timeline, next.timeline, next.switch_lsn.ToString(),
        FormatUtcMicros(next.switch_time_us), next.timeline,
        Lsn(next.switch_lsn.value() - 1).ToString(), FormatUtcMicros(next.switch_time_us),
        next.timeline, next_start, next.parent_timeline, next.parent_timeline));
  }
  return result;
}

absl::Status RunBaseRestore(const ReplayConfig& config, sinks::ObjectStore* store,
                            ObjectCache* cache, const sinks::StreamId& stream,
                            const BaseCatalog& bases, const SegmentCatalog& catalog,
                            const RecoveryTarget& target, const RecoveryTarget& resolved,
                            Lsn branch_limit, bool* began_writing) {
  WALSHIP_ASSIGN_OR_RETURN(BaseRestorePlan plan, PlanBaseRestore(bases, catalog, resolved));
  LimitToBranch(&plan.changes, branch_limit);
  LogInfo("restoring stream %s/%s (%s) from base %s and %d change segments", stream.system_id,
          stream.slot, target.Describe(), plan.base.snapshot_lsn().ToString(),
          plan.changes.segments.size());
  BaseRestoreOptions options;
  options.force = config.force;
  options.batch_events = config.batch_events;
  options.jobs = config.jobs;
  options.tables = config.tables;
  options.into_schema = config.into_schema;
  options.check_base = config.check_base;
  options.fold_memory_bytes = config.fold_memory_mb << 20;
  options.toast_compression = config.toast_compression == "server" ? "" : config.toast_compression;
  options.sequence_margin = config.sequence_margin;
  options.cache = cache;
  options.create_roles = config.create_roles;
  options.began_writing = began_writing;
  options.progress_on_terminal = isatty(STDERR_FILENO) == 1;
  absl::Time start = absl::Now();
  WALSHIP_ASSIGN_OR_RETURN(BaseRestoreResult result,
                           RestoreFromBase(store, stream, plan, config.target, options));
  uint64_t rows = 0;
  for (const TableLoadResult& table : result.tables) rows += table.base_rows;
  absl::PrintF(
      "restored base %s (%d tables, %d rows) and %d transactions (%d events, %d folded into the "
      "load) up to commit LSN %s in %.1fs (schema %.1fs, copy %.1fs, changes %.1fs, indexes and "
      "sequences %.1fs)\n",
      plan.base.snapshot_lsn().ToString(), result.tables.size(), rows,
      result.changes.stats.transactions, result.changes.stats.events, result.folded_events,
      std::max(result.changes.stats.last_commit_lsn, plan.base.snapshot_lsn()).ToString(),
      absl::ToDoubleSeconds(absl::Now() - start), absl::ToDoubleSeconds(result.schema_time),
      absl::ToDoubleSeconds(result.copy_time), absl::ToDoubleSeconds(result.change_time),
      absl::ToDoubleSeconds(result.finish_time));
  return absl::OkStatus();
}


absl::Status RunRestoreSteps(const ReplayConfig& config, bool* began_writing) {
  WarnOnPassword("--target", config.target);
  WALSHIP_ASSIGN_OR_RETURN(RecoveryTarget target, BuildTarget(TargetOptionsOf(config)));
  // Remote objects are fetched into a work directory of the restore's own, checked there
  // before the first write, and read from there; it is removed when the restore ends.
  WALSHIP_ASSIGN_OR_RETURN(RestoreWorkDir work, RestoreWorkDir::Create(config.work_dir));
  ObjectCache* cache = nullptr;
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store,
                           OpenStore(config, work.path(), &cache));
  WALSHIP_ASSIGN_OR_RETURN(sinks::StreamId root,
                           ResolveStream(store.get(), config.system_id, config.slot));
  WALSHIP_ASSIGN_OR_RETURN(ChosenBranch branch, ChooseBranch(store.get(), root, config, target));
  const sinks::StreamId& stream = branch.stream;
  if (!stream.branch.empty() || branch.limit.valid()) {
    LogInfo("following branch \"%s\"%s", stream.branch.empty() ? "(first timeline)" : stream.branch,
            branch.limit.valid()
                ? absl::StrCat(" up to the switch at ", branch.limit.ToString())
                : std::string());
  }
  WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog, SegmentCatalog::Load(store.get(), stream));
  WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(store.get(), stream));
  if (!bases.bases().empty()) {
    RecoveryTarget resolved;
    if (branch.resolved_known) {
      resolved = branch.resolved;
    } else {
      WALSHIP_ASSIGN_OR_RETURN(resolved, ResolveTarget(store.get(), catalog, target));
    }
    return RunBaseRestore(config, store.get(), cache, stream, bases, catalog, target, resolved,
                          branch.limit, began_writing);
  }
  if (!config.into_schema.empty()) {
    return absl::FailedPreconditionError("--into-schema needs a base snapshot; none is stored");
  }
  WALSHIP_ASSIGN_OR_RETURN(
      RestorePlan plan,
      PlanChangesRestore(store.get(), catalog, branch.resolved_known ? branch.resolved : target));
  LimitToBranch(&plan, branch.limit);
  LogInfo("restoring stream %s/%s (%s): %d segments", stream.system_id, stream.slot,
          target.Describe(), plan.segments.size());
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<agent::pg::PgConnection> conn,
                           agent::pg::PgConnection::Connect(config.target, agent::pg::ConnectionKind::kNormal));
  RestoreOptions options;
  options.applier.force = config.force;
  options.applier.batch_events = config.batch_events;
  options.progress_on_terminal = isatty(STDERR_FILENO) == 1;
  *began_writing = true;  // into the target's existing tables (no pre-flight without a base)
  WALSHIP_ASSIGN_OR_RETURN(RestoreResult result,
                           Restore(store.get(), std::move(plan), conn.get(), options));
  absl::PrintF("restored %d transactions (%d events, %d duplicates dropped) up to commit LSN %s",
               result.stats.transactions, result.stats.events, result.stats.duplicates,
               result.stats.last_commit_lsn.ToString());
  if (result.stats.last_commit_time_us != 0) {
    absl::PrintF(", committed %s", FormatUtcMicros(result.stats.last_commit_time_us));
  }
  absl::PrintF("\n");
  return absl::OkStatus();
}

}  // namespace

// A restore's error says whether the target was written to.
absl::Status RunRestore(const ReplayConfig& config) {
  bool began_writing = false;
  absl::Status status = RunRestoreSteps(config, &began_writing);
  if (status.ok()) return status;
  if (began_writing) {
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(),
                     "\nTHE TARGET IS INCOMPLETE: the restore stopped after it began writing "
                     "to it. Drop the target database (with --into-schema, that schema) and "
                     "restore again once the cause above is fixed."));
  }
  return absl::Status(status.code(),
                      absl::StrCat(status.message(), "\nNothing was written to the target."));
}

}  // namespace walship::replay
