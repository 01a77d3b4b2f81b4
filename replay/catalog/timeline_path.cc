// Stream histories and timeline paths.
#include "replay/catalog/timeline_path.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/stream_history.h"

namespace walship::replay {
namespace {

std::string Time(int64_t micros) {
  if (micros == 0) return "unknown time";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<StreamHistory> LoadStreamHistory(sinks::ObjectStore* store,
                                                const sinks::StreamId& stream) {
  StreamHistory history;
  sinks::StreamId root(stream.system_id, stream.slot);
  WALSHIP_ASSIGN_OR_RETURN(history.incarnations, sinks::LoadIncarnations(*store, root));
  for (const v1::StreamIncarnation& record : history.incarnations) {
    auto it = std::find_if(history.branches.begin(), history.branches.end(),
                           [&](const StreamBranch& b) { return b.stream.branch == record.branch(); });
    if (it == history.branches.end()) {
      StreamBranch branch;
      branch.stream = sinks::StreamId(root.system_id, root.slot, record.branch());
      branch.timeline = record.timeline();
      branch.parent_timeline = record.parent_timeline();
      branch.switch_lsn = Lsn(record.switch_lsn());
      branch.switch_time_us = record.switch_time_us();
      history.branches.push_back(std::move(branch));
      it = history.branches.end() - 1;
    }
    it->incarnations.push_back(record);
  }
  if (history.branches.empty()) {
    StreamBranch branch;
    branch.stream = root;
    history.branches.push_back(std::move(branch));
  }
  std::sort(history.branches.begin(), history.branches.end(),
            [](const StreamBranch& a, const StreamBranch& b) { return a.timeline < b.timeline; });
  for (StreamBranch& branch : history.branches) {
    WALSHIP_ASSIGN_OR_RETURN(branch.gaps, sinks::LoadGapRecords(*store, branch.stream));
  }
  return history;
}

absl::StatusOr<std::vector<PathStep>> TimelinePath(const StreamHistory& history,
                                                   uint32_t timeline) {
  const StreamBranch* leaf = &history.branches.back();
  if (timeline != 0) {
    leaf = nullptr;
    for (const StreamBranch& branch : history.branches) {
      if (branch.timeline == timeline) leaf = &branch;
    }
    if (leaf == nullptr) {
      std::vector<std::string> stored;
      for (const StreamBranch& branch : history.branches) {
        stored.push_back(branch.timeline == 0 ? "unknown" : absl::StrCat(branch.timeline));
      }
      return absl::InvalidArgumentError(
          absl::StrFormat("--timeline %d: the store holds no history of that timeline (stored "
                          "timelines: %s)",
                          timeline, absl::StrJoin(stored, ", ")));
    }
  }
  std::vector<PathStep> path;
  path.push_back({leaf, Lsn()});
  while (path.front().branch->parent_timeline != 0) {
    const StreamBranch* child = path.front().branch;
    const StreamBranch* parent = nullptr;
    for (const StreamBranch& branch : history.branches) {
      if (branch.timeline == child->parent_timeline) parent = &branch;
    }
    if (parent == nullptr) break;
    path.insert(path.begin(), PathStep{parent, child->switch_lsn});
  }
  return path;
}

sinks::StreamId NewestBranch(const StreamHistory& history, const sinks::StreamId& root) {
  if (history.incarnations.empty()) return root;
  const v1::StreamIncarnation& newest = history.incarnations.back();
  return sinks::StreamId(root.system_id, root.slot, newest.branch());
}

std::string FormatHistory(const StreamHistory& history) {
  std::string out;
  if (history.incarnations.empty()) return out;
  absl::StrAppend(&out, "  history:\n");
  for (const v1::StreamIncarnation& record : history.incarnations) {
    absl::StrAppendFormat(&out, "    incarnation %d: timeline %d, %s, from %s (slot at %s)%s\n",
                          record.number(), record.timeline(), record.reason(),
                          Time(record.created_time_us()), Lsn(record.start_lsn()).ToString(),
                          record.branch().empty()
                              ? ""
                              : absl::StrCat(", objects under \"", record.branch(), "/\""));
    if (record.switch_lsn() != 0) {
      absl::StrAppendFormat(&out,
                            "      fork: timeline %d switched to timeline %d at %s (%s); "
                            "restores follow timeline %d unless --timeline %d\n",
                            record.parent_timeline(), record.timeline(),
                            Lsn(record.switch_lsn()).ToString(), Time(record.switch_time_us()),
                            history.branches.back().timeline, record.parent_timeline());
    }
  }
  for (const StreamBranch& branch : history.branches) {
    for (const v1::GapRecord& gap : branch.gaps) {
      absl::StrAppendFormat(&out,
                            "    recorded gap on timeline %d: %s .. %s (%s), noticed %s: no "
                            "restore target inside or after it from an older base\n",
                            branch.timeline, Lsn(gap.from_lsn()).ToString(),
                            Lsn(gap.to_lsn()).ToString(), gap.reason(),
                            Time(gap.recorded_time_us()));
    }
  }
  return out;
}

}  // namespace walship::replay
