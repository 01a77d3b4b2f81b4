// Recovery-window planning over index trailers.
#include "replay/plan/restore_planner.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace walship::replay {
namespace {

absl::Status GapError(const StreamGap& gap) {
  std::string before = gap.previous_key.empty()
                           ? std::string("the start of the stream")
                           : absl::StrFormat("segment \"%s\"", gap.previous_key);
  return absl::FailedPreconditionError(absl::StrFormat(
      "cannot restore across a gap in the stream: no stored changes between %s and %s "
      "(after %s, before segment \"%s\"); choose a target before the gap",
      gap.from.ToString(), gap.to.ToString(), before, gap.next_key));
}

}  // namespace

absl::StatusOr<RestorePlan> PlanRestore(const SegmentCatalog& catalog,
                                        const RecoveryTarget& target) {
  const std::vector<CatalogSegment>& all = catalog.segments();
  if (all.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat("stream \"%s%s\" has no change segments",
                                                         catalog.stream().system_id,
                                                         "/" + catalog.stream().slot));
  }
  RestorePlan plan;
  plan.target = target;
  const v1::SegmentTrailer& first = all.front().trailer;
  // How many segments, from the start, the restore needs.
  size_t count = all.size();
  switch (target.kind) {
    case RecoveryTarget::Kind::kEverything:
      break;
    case RecoveryTarget::Kind::kLsn: {
      if (target.lsn.value() < first.first_commit_lsn()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("target LSN %s is before the oldest stored transaction (commit LSN %s)",
                            target.lsn.ToString(), Lsn(first.first_commit_lsn()).ToString()));
      }
      count = 0;
      while (count < all.size() && all[count].trailer.first_commit_lsn() <= target.lsn.value()) {
        ++count;
      }
      plan.last_commit_lsn = target.lsn;
      break;
    }
    case RecoveryTarget::Kind::kTime: {
      int64_t t = absl::ToUnixMicros(target.time);
      if (t < first.first_commit_time_us()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("target time %s is before the oldest stored transaction (committed %s)",
                            FormatUtc(target.time), FormatUtcMicros(first.first_commit_time_us())));
      }
      count = 0;
      while (count < all.size() && all[count].trailer.first_commit_time_us() <= t) ++count;
      plan.last_commit_time_us = t;
      break;
    }
    case RecoveryTarget::Kind::kXid: {
      for (size_t i = 0; i < all.size(); ++i) {
        const v1::SegmentTrailer& trailer = all[i].trailer;
        if (trailer.transaction_count() > 0 && Xid(trailer.min_xid()) <= target.xid &&
            target.xid <= Xid(trailer.max_xid())) {
          plan.xid_candidates.push_back(i);
        }
      }
      if (plan.xid_candidates.empty()) {
        uint32_t lo = UINT32_MAX, hi = 0;
        for (const CatalogSegment& s : all) {
          if (s.trailer.transaction_count() == 0) continue;
          lo = std::min(lo, s.trailer.min_xid());
          hi = std::max(hi, s.trailer.max_xid());
        }
        return absl::InvalidArgumentError(
            absl::StrFormat("xid %u is not in the stored recovery window (stored xids %u to %u)",
                            target.xid.value(), lo, hi));
      }
      count = plan.xid_candidates.back() + 1;
      break;
    }
    case RecoveryTarget::Kind::kMark:
      return absl::InvalidArgumentError(
          absl::StrFormat("mark \"%s\" must be resolved to an LSN first", target.mark));
  }
  for (const StreamGap& gap : catalog.gaps()) {
    if (gap.next < count) return GapError(gap);
    // A target inside the gap: transactions at or before it may be the missing ones.
    if (gap.next == count && gap.next > 0) {
      if (target.kind == RecoveryTarget::Kind::kTime) return GapError(gap);
      if (target.kind == RecoveryTarget::Kind::kLsn && target.lsn >= gap.from) {
        return GapError(gap);
      }
    }
  }
  plan.segments.assign(all.begin(), all.begin() + count);
  return plan;
}

RestorePlan BoundXidPlan(RestorePlan plan, Lsn xid_commit_lsn) {
  plan.last_commit_lsn = plan.target.exclusive ? Lsn(xid_commit_lsn.value() - 1) : xid_commit_lsn;
  size_t count = 0;
  while (count < plan.segments.size() &&
         plan.segments[count].trailer.first_commit_lsn() <= plan.last_commit_lsn.value()) {
    ++count;
  }
  plan.segments.resize(count);
  plan.xid_candidates.clear();
  return plan;
}

}  // namespace walship::replay
