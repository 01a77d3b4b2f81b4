// The restore loop.
#include "replay/apply/restorer.h"

#include <cstdio>
#include <optional>

#include "absl/strings/str_format.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "replay/apply/progress_reporter.h"
#include "replay/catalog/segment_records.h"

namespace walship::replay {

absl::StatusOr<RestoreResult> Restore(sinks::ObjectStore* store, RestorePlan plan,
                                      agent::pg::PgConnection* target, const RestoreOptions& options) {
  if (!plan.xid_candidates.empty()) {
    return absl::InternalError("an xid target must be resolved (plan/target_resolver.h) first");
  }
  Applier applier(target, options.applier);
  ProgressReporter progress(options.progress_on_terminal, stderr, absl::Seconds(10),
                            *options.clock);
  RestoreResult result;
  for (const CatalogSegment& segment : plan.segments) {
    if (Lsn(segment.trailer.last_commit_lsn()) < options.start_at.commit_lsn) continue;
    applier.BeginSegment();
    LogDebug("reading segment \"%s\"", segment.segment_key);
    absl::StatusOr<bool> complete =
        ForEachSegmentRecord(store, segment, [&](const v1::Record& stored) -> absl::StatusOr<bool> {
          if (stored.has_event() && Lsn(stored.event().commit_lsn()) < plan.first_commit_lsn) {
            return true;  // in the base snapshot already
          }
          if (stored.has_event() && (proto::PositionOf(stored.event()) < options.start_at ||
                                     (options.folded && options.folded(stored.event())))) {
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
          if (PastTarget(plan, Lsn(event.commit_lsn()), event.commit_time_us())) {
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
                                      applier.stats().committed_commit_lsn.ToString()));
    }
    if (!*complete) break;
  }
  WALSHIP_RETURN_IF_ERROR(applier.Finish());
  result.stats = applier.stats();
  progress.Finish(result.stats);
  return result;
}

}  // namespace walship::replay
