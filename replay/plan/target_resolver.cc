#include "replay/plan/target_resolver.h"

#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "replay/catalog/segment_records.h"

namespace walship::replay {

std::vector<MarkInfo> CollectMarks(const SegmentCatalog& changes) {
  std::vector<MarkInfo> marks;
  for (const CatalogSegment& segment : changes.segments()) {
    for (const v1::Mark& mark : segment.trailer.marks()) {
      marks.push_back(
          MarkInfo{mark.name(), Lsn(mark.commit_lsn()), mark.commit_time_us(), Xid(mark.xid())});
    }
  }
  return marks;
}

absl::StatusOr<RecoveryTarget> ResolveMarkTarget(const SegmentCatalog& changes,
                                                 RecoveryTarget target) {
  if (target.kind != RecoveryTarget::Kind::kMark) return target;
  std::vector<MarkInfo> all = CollectMarks(changes);
  std::vector<MarkInfo> found;
  for (const MarkInfo& mark : all) {
    // A segment written twice after a crash repeats its marks: same LSN is one mark.
    if (mark.name != target.mark) continue;
    if (!found.empty() && found.back().commit_lsn == mark.commit_lsn) continue;
    found.push_back(mark);
  }
  auto describe = [](const MarkInfo& mark) {
    return absl::StrFormat("\"%s\" at %s (%s, xid %u)", mark.name, mark.commit_lsn.ToString(),
                           FormatUtcMicros(mark.commit_time_us), mark.xid.value());
  };
  if (found.empty()) {
    std::vector<std::string> names;
    for (const MarkInfo& mark : all) names.push_back(describe(mark));
    return absl::InvalidArgumentError(absl::StrFormat(
        "mark \"%s\" is not in the stored changes; stored marks: %s", target.mark,
        names.empty() ? std::string("none") : absl::StrJoin(names, ", ")));
  }
  if (found.size() > 1) {
    std::vector<std::string> candidates;
    for (const MarkInfo& mark : found) candidates.push_back(describe(mark));
    return absl::InvalidArgumentError(absl::StrFormat(
        "mark \"%s\" was written %d times: %s; restore with --to-lsn to pick one", target.mark,
        found.size(), absl::StrJoin(candidates, ", ")));
  }
  RecoveryTarget resolved;
  resolved.kind = RecoveryTarget::Kind::kLsn;
  resolved.lsn = found.front().commit_lsn;
  return resolved;
}

absl::StatusOr<RestorePlan> ResolveXidTarget(sinks::ObjectStore* store, RestorePlan plan) {
  // Bounded already (BoundXidPlan leaves no candidates; planning refuses an xid with none).
  if (plan.target.kind != RecoveryTarget::Kind::kXid || plan.xid_candidates.empty()) return plan;
  std::optional<Lsn> found;
  for (size_t index : plan.xid_candidates) {
    WALSHIP_ASSIGN_OR_RETURN(
        bool complete,
        ForEachSegmentRecord(store, plan.segments[index],
                             [&](const v1::Record& record) -> absl::StatusOr<bool> {
                               if (record.has_event() && Xid(record.event().xid()) == plan.target.xid) {
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
        plan.target.xid.value()));
  }
  LogInfo("xid %u committed at %s", plan.target.xid.value(), found->ToString());
  return BoundXidPlan(std::move(plan), *found);
}

absl::StatusOr<RecoveryTarget> ResolveTarget(sinks::ObjectStore* store,
                                                  const SegmentCatalog& changes,
                                                  RecoveryTarget target) {
  if (target.kind == RecoveryTarget::Kind::kMark) return ResolveMarkTarget(changes, target);
  if (target.kind != RecoveryTarget::Kind::kXid) return target;
  WALSHIP_ASSIGN_OR_RETURN(RestorePlan plan, PlanRestore(changes, target));
  WALSHIP_ASSIGN_OR_RETURN(plan, ResolveXidTarget(store, std::move(plan)));
  RecoveryTarget resolved;
  resolved.kind = RecoveryTarget::Kind::kLsn;
  resolved.lsn = plan.last_commit_lsn;
  return resolved;
}

absl::StatusOr<RestorePlan> PlanChangesRestore(sinks::ObjectStore* store,
                                               const SegmentCatalog& changes,
                                               const RecoveryTarget& target) {
  WALSHIP_ASSIGN_OR_RETURN(RecoveryTarget resolved, ResolveMarkTarget(changes, target));
  WALSHIP_ASSIGN_OR_RETURN(RestorePlan plan, PlanRestore(changes, resolved));
  return ResolveXidTarget(store, std::move(plan));
}

}  // namespace walship::replay
