// Base choice and window checks.
#include "replay/plan/base_planner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "proto/core/status_macros.h"

namespace walship::replay {
namespace {

std::string Short(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

absl::Status OutsideWindow(const std::string& what, const RecoveryWindow& window) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s is outside the recovery window %s (LSN %s .. %s); choose a target inside it", what,
      window.DescribeTimes(), window.earliest_lsn.ToString(), window.latest_lsn.ToString()));
}

// Names the gap and the nearest restorable points on both sides of it: the last commit
// before it, and the first base after it (or that none exists yet).
absl::Status GapError(const StreamGap& gap, const CatalogBase& base,
                      const std::vector<CatalogSegment>& segments,
                      const std::vector<CatalogBase>& bases) {
  std::string before = "none (the gap is at the start of the stored changes)";
  if (gap.next > 0 && gap.next <= segments.size()) {
    const v1::SegmentTrailer& last = segments[gap.next - 1].trailer;
    before = absl::StrFormat("--to-lsn %s (committed %s)", Lsn(last.last_commit_lsn()).ToString(),
                             FormatUtcMicros(last.last_commit_time_us()));
  }
  std::string after = "none yet (the agent takes one when it records a gap)";
  for (const CatalogBase& later : bases) {
    if (later.snapshot_lsn() >= gap.to) {
      after = absl::StrFormat("base %s (--to-time %s or later)", later.snapshot_lsn().ToString(),
                              FormatUtcMicros(later.manifest.snapshot_time_us()));
      break;
    }
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "cannot restore from base %s across a gap in the stream: no stored changes between %s and "
      "%s (before segment \"%s\"). Nearest restorable points: before the gap %s; after it %s",
      base.snapshot_lsn().ToString(), gap.from.ToString(), gap.to.ToString(), gap.next_key,
      before, after));
}

}  // namespace

std::string RecoveryWindow::DescribeTimes() const {
  if (empty) return "(empty: no complete base snapshot)";
  return absl::StrCat(Short(earliest_time_us), " .. ", Short(latest_time_us), " UTC");
}

RecoveryWindow ComputeWindow(const BaseCatalog& bases, const SegmentCatalog& changes) {
  RecoveryWindow window;
  if (bases.bases().empty()) return window;
  window.empty = false;
  const v1::BaseManifest& oldest = bases.bases().front().manifest;
  const v1::BaseManifest& newest = bases.bases().back().manifest;
  window.earliest_lsn = Lsn(oldest.snapshot_lsn());
  window.earliest_time_us = oldest.snapshot_time_us();
  window.latest_lsn = Lsn(newest.snapshot_lsn());
  window.latest_time_us = newest.snapshot_time_us();
  if (!changes.segments().empty()) {
    const v1::SegmentTrailer& last = changes.segments().back().trailer;
    if (last.last_end_lsn() > window.latest_lsn.value()) {
      window.latest_lsn = Lsn(last.last_end_lsn());
      window.latest_time_us = std::max(window.latest_time_us, last.last_commit_time_us());
    }
  }
  return window;
}

absl::StatusOr<BaseRestorePlan> PlanBaseRestore(const BaseCatalog& bases,
                                                const SegmentCatalog& changes,
                                                const RecoveryTarget& target) {
  if (bases.bases().empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "stream %s/%s has no complete base snapshot to restore from%s", changes.stream().system_id,
        changes.stream().slot,
        bases.incomplete().empty()
            ? std::string("")
            : absl::StrFormat(" (%d incomplete, without manifest)", bases.incomplete().size())));
  }
  RecoveryWindow window = ComputeWindow(bases, changes);
  const std::vector<CatalogBase>& all = bases.bases();
  const CatalogBase* chosen = nullptr;
  RestorePlan plan;
  plan.target = target;
  switch (target.kind) {
    case RecoveryTarget::Kind::kEverything:
      chosen = &all.back();
      break;
    case RecoveryTarget::Kind::kLsn:
      if (target.lsn < window.earliest_lsn || target.lsn > window.latest_lsn) {
        return OutsideWindow(absl::StrCat("target LSN ", target.lsn.ToString()), window);
      }
      for (const CatalogBase& base : all) {
        if (base.snapshot_lsn() <= target.lsn) chosen = &base;
      }
      plan.last_commit_lsn = target.lsn;
      break;
    case RecoveryTarget::Kind::kTime: {
      int64_t t = absl::ToUnixMicros(target.time);
      if (t < window.earliest_time_us || t > window.latest_time_us) {
        return OutsideWindow(absl::StrCat("target ", Short(t), " UTC"), window);
      }
      for (const CatalogBase& base : all) {
        if (base.manifest.snapshot_time_us() <= t) chosen = &base;
      }
      plan.last_commit_time_us = t;
      break;
    }
    case RecoveryTarget::Kind::kXid:
    case RecoveryTarget::Kind::kMark:
      return absl::InternalError("xid and mark targets must be resolved to an LSN first");
  }
  if (chosen == nullptr) chosen = &all.front();
  // Tables that entered the publication with rows no change event carries, after the chosen
  // base: a target past their entry, before the base that has their rows, would lack them.
  for (const CatalogBase& later : all) {
    const v1::BaseManifest& m = later.manifest;
    if (later.snapshot_lsn() <= chosen->snapshot_lsn() || m.entered_tables().empty()) continue;
    bool crosses = false;
    if (target.kind == RecoveryTarget::Kind::kLsn) {
      crosses = target.lsn.value() >= m.entered_lsn();
    } else if (target.kind == RecoveryTarget::Kind::kTime) {
      crosses = absl::ToUnixMicros(target.time) >= m.entered_time_us();
    }
    if (crosses) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s entered the publication after %s (committed %s) holding rows that no change "
          "event carries (ATTACH PARTITION, SET LOGGED or ALTER PUBLICATION ... ADD TABLE); "
          "the first base with their rows is %s (snapshot %s): restore to a point at or after "
          "it, or before %s",
          absl::StrJoin(m.entered_tables(), ", "), Lsn(m.entered_lsn()).ToString(),
          FormatUtcMicros(m.entered_time_us()), later.snapshot_lsn().ToString(),
          FormatUtcMicros(m.snapshot_time_us()), Lsn(m.entered_lsn()).ToString()));
    }
  }
  const uint64_t snapshot = chosen->snapshot_lsn().value();
  plan.first_commit_lsn = Lsn(snapshot);
  const std::vector<CatalogSegment>& segments = changes.segments();
  size_t begin = 0;
  while (begin < segments.size() && segments[begin].trailer.last_end_lsn() <= snapshot) ++begin;
  size_t end = begin;
  while (end < segments.size()) {
    const v1::SegmentTrailer& trailer = segments[end].trailer;
    if (trailer.first_commit_lsn() > plan.last_commit_lsn.value()) break;
    if (trailer.first_commit_time_us() > plan.last_commit_time_us) break;
    ++end;
  }
  for (const StreamGap& gap : changes.gaps()) {
    if (gap.to.value() <= snapshot) continue;  // before the base: not needed
    if (gap.next >= begin && gap.next < end) return GapError(gap, *chosen, segments, all);
    // A target inside the gap.
    if (gap.next == end && end < segments.size()) {
      if (target.kind == RecoveryTarget::Kind::kLsn && target.lsn >= gap.from) {
        return GapError(gap, *chosen, segments, all);
      }
      if (target.kind == RecoveryTarget::Kind::kTime) return GapError(gap, *chosen, segments, all);
    }
  }
  plan.segments.assign(segments.begin() + begin, segments.begin() + end);
  return BaseRestorePlan{*chosen, std::move(plan), segments};
}

}  // namespace walship::replay
