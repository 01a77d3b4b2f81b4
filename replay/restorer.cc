// The restore loop.
#include "replay/restorer.h"

#include <cstdio>
#include <optional>

#include "absl/strings/str_format.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "replay/progress_reporter.h"
#include "replay/segment_records.h"

namespace walship::replay {

absl::StatusOr<RestorePlan> ResolveXidTarget(sinks::ObjectStore* store, RestorePlan plan) {
  // Bounded already (BoundXidPlan leaves no candidates; planning refuses an xid with none).
  if (plan.target.kind != RecoveryTarget::Kind::kXid || plan.xid_candidates.empty()) return plan;
  std::optional<Lsn> found;
  for (size_t index : plan.xid_candidates) {
    WALSHIP_ASSIGN_OR_RETURN(
        bool complete,
        ForEachSegmentRecord(store, plan.segments[index],
                             [&](const v1::Record& record) -> absl::StatusOr<bool> {
                               if (record.has_event() && record.event().xid() == plan.target.xid) {
                                 found = Lsn(record.event().commit_lsn());
                                 return false;
                               }
                               return true;
                             }));
    (void)complete;
    if (found) break;
  }
  if (!found) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "xid %u is not in the stored recovery window (no stored transaction has it)",
        plan.target.xid));
  }
  LogInfo("xid %u committed at %s", plan.target.xid, found->ToString());
  return BoundXidPlan(std::move(plan), *found);
}

absl::StatusOr<RestoreResult> Restore(sinks::ObjectStore* store, RestorePlan plan,
                                      pg::PgConnection* target, const RestoreOptions& options) {
  WALSHIP_ASSIGN_OR_RETURN(plan, ResolveXidTarget(store, std::move(plan)));
  Applier applier(target, options.applier);
  ProgressReporter progress(options.progress_on_terminal, stderr);
  RestoreResult result;
  for (const CatalogSegment& segment : plan.segments) {
    if (segment.trailer.last_commit_lsn() < options.start_at.first) continue;
    applier.BeginSegment();
    LogDebug("reading segment \"%s\"", segment.segment_key);
    absl::StatusOr<bool> complete =
        ForEachSegmentRecord(store, segment, [&](const v1::Record& stored) -> absl::StatusOr<bool> {
          if (stored.has_event() && stored.event().commit_lsn() < plan.first_commit_lsn) {
            return true;  // in the base snapshot already
          }
          if (stored.has_event() && StreamPosition{stored.event().commit_lsn(),
                                                   stored.event().sequence()} < options.start_at) {
            return true;  // folded into the base load
          }
          const v1::Record* current = &stored;
          v1::Record rewritten;
          if (options.filter) {
            rewritten = stored;
            if (!options.filter(&rewritten)) return true;
            current = &rewritten;
          }
          const v1::Record& record = *current;
          if (record.has_relation_def()) {
            WALSHIP_RETURN_IF_ERROR(applier.DefineRelation(record.relation_def()));
            return true;
          }
          if (!record.has_event()) return true;
          const v1::Event& event = record.event();
          if (PastTarget(plan, event.commit_lsn(), event.commit_time_us())) {
            result.stopped_at_target = true;
            return false;
          }
          WALSHIP_RETURN_IF_ERROR(applier.Apply(event));
          progress.Update(applier.stats());
          return true;
        });
    if (!complete.ok()) {
      result.stats = applier.stats();
      return Annotate(complete.status(),
                      absl::StrFormat("restoring (target committed up to commit LSN %s)",
                                      Lsn(applier.stats().committed_commit_lsn).ToString()));
    }
    if (!*complete) break;
  }
  WALSHIP_RETURN_IF_ERROR(applier.Finish());
  result.stats = applier.stats();
  progress.Finish(result.stats);
  return result;
}

}  // namespace walship::replay
