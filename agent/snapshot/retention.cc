// Retention planning and the store operations around it.
#include "agent/snapshot/retention.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "proto/walship.pb.h"

namespace walship::agent::snapshot {

RetentionPlan PlanRetention(const StoreContents& contents, const RetentionPolicy& policy,
                            absl::Time now) {
  RetentionPlan plan;
  std::vector<const StoredBase*> complete;
  for (const StoredBase& base : contents.bases) {
    if (base.complete) complete.push_back(&base);
  }
  std::sort(complete.begin(), complete.end(),
            [](const StoredBase* a, const StoredBase* b) {
              return a->snapshot_lsn < b->snapshot_lsn;
            });
  if (complete.empty()) return plan;
  if (!policy.enabled()) {
    plan.oldest_kept_base = complete.front()->snapshot_lsn;
    return plan;
  }
  const size_t n = complete.size();
  std::vector<bool> keep(n, false);
  keep[n - 1] = true;  // the newest base, always
  if (policy.retain_base > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (n - i <= static_cast<size_t>(policy.retain_base)) keep[i] = true;
    }
  }
  if (policy.retain_for > absl::ZeroDuration()) {
    absl::Time window_start = now - policy.retain_for;
    // Every base inside the window, and the newest one at or before its start: restoring
    // to the window's first instant needs a base taken before it.
    for (size_t i = 0; i < n; ++i) {
      if (complete[i]->snapshot_time >= window_start) {
        keep[i] = true;
      } else if (i + 1 == n || complete[i + 1]->snapshot_time >= window_start) {
        keep[i] = true;
      }
    }
  }
  std::vector<const StoredBase*> dropped;
  for (size_t i = 0; i < n; ++i) {
    if (keep[i]) {
      if (!plan.oldest_kept_base.valid()) plan.oldest_kept_base = complete[i]->snapshot_lsn;
    } else {
      dropped.push_back(complete[i]);
    }
  }
  for (const StoredBase* base : dropped) {
    plan.deleted_bases.push_back(base->snapshot_lsn);
    for (const std::string& key : base->keys) {
      if (absl::EndsWith(key, "/manifest.pb")) plan.delete_keys.push_back(key);
    }
    for (const std::string& key : base->keys) {
      if (!absl::EndsWith(key, "/manifest.pb")) plan.delete_keys.push_back(key);
    }
  }
  // A segment whose last transaction ended before the oldest kept base holds only
  // transactions that committed before that base's snapshot: no kept base needs it.
  for (bool index_pass : {true, false}) {
    for (const StoredSegmentObject& segment : contents.segments) {
      bool is_index = absl::EndsWith(segment.key, ".idx");
      if (is_index != index_pass) continue;
      if (segment.last_end < plan.oldest_kept_base) plan.delete_keys.push_back(segment.key);
    }
  }
  // Parts go with their segment (the one with the same first commit), after it, so that a
  // stop halfway never leaves a segment without its parts. Parts no segment names (left by a
  // crash before their segment was stored) go once they are that old too, but only when
  // the build that wrote them is provably over: a segment with that first commit, or a later
  // one, is stored (a build still running has stored neither, and may be about to name them).
  std::set<Lsn> kept_first_commits;
  std::set<Lsn> stored_first_commits;
  for (const StoredSegmentObject& segment : contents.segments) {
    auto parsed = sinks::ParseWalSegmentKey(segment.key);
    if (!parsed) continue;
    stored_first_commits.insert(parsed->first_commit);
    if (segment.last_end >= plan.oldest_kept_base) kept_first_commits.insert(parsed->first_commit);
  }
  for (const StoredPartObject& part : contents.parts) {
    bool build_over = stored_first_commits.lower_bound(part.first_commit) !=
                      stored_first_commits.end();
    if (part.first_commit < plan.oldest_kept_base && build_over &&
        !kept_first_commits.count(part.first_commit)) {
      plan.delete_keys.push_back(part.key);
    }
  }
  return plan;
}

absl::StatusOr<StoreContents> ListStoreContents(sinks::ObjectStore& store,
                                                const sinks::StreamId& stream) {
  StoreContents contents;
  std::map<Lsn, StoredBase> bases;
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> base_objects,
                           store.List(absl::StrCat(stream.Prefix(), "base/")));
  for (const sinks::ObjectInfo& object : base_objects) {
    auto parsed = sinks::ParseBaseKey(object.key);
    if (!parsed) continue;
    StoredBase& base = bases[parsed->snapshot_lsn];
    base.snapshot_lsn = parsed->snapshot_lsn;
    base.keys.push_back(object.key);
    if (parsed->file == "manifest.pb") {
      WALSHIP_ASSIGN_OR_RETURN(std::string data, store.Get(object.key));
      v1::BaseManifest manifest;
      if (manifest.ParseFromString(data) && manifest.snapshot_lsn() == base.snapshot_lsn.value()) {
        base.complete = true;
        base.snapshot_time = absl::FromUnixMicros(manifest.snapshot_time_us());
      } else {
        LogWarning("base snapshot manifest \"%s\" in %s is unreadable; keeping that base",
                   object.key, store.url());
      }
    }
  }
  for (auto& [lsn, base] : bases) contents.bases.push_back(std::move(base));
  for (absl::string_view dir : {"wal/", "index/"}) {
    WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> objects,
                             store.List(absl::StrCat(stream.Prefix(), dir)));
    for (const sinks::ObjectInfo& object : objects) {
      std::optional<Lsn> last_end;
      if (dir == "wal/") {
        if (auto parsed = sinks::ParseWalSegmentKey(object.key)) last_end = parsed->last_end;
      } else {
        last_end = sinks::ParseSegmentIndexKey(object.key);
      }
      if (last_end) contents.segments.push_back({object.key, *last_end});
    }
  }
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> parts,
                           store.List(absl::StrCat(stream.Prefix(), "part/")));
  for (const sinks::ObjectInfo& object : parts) {
    if (auto first_commit = sinks::ParseSegmentPartKey(object.key)) {
      contents.parts.push_back({object.key, *first_commit});
    }
  }
  return contents;
}

absl::Status ApplyRetention(sinks::ObjectStore& store, const RetentionPlan& plan) {
  for (const std::string& key : plan.delete_keys) {
    absl::Status status = store.Delete(key);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("retention: deleting \"", key, "\" from ",
                                                      store.url(), ": ", status.message()));
    }
  }
  for (Lsn lsn : plan.deleted_bases) {
    LogInfo("retention: deleted base snapshot %s from %s", lsn.ToString(), store.url());
  }
  return absl::OkStatus();
}

absl::StatusOr<RetentionPlan> RunRetention(sinks::ObjectStore& store,
                                           const sinks::StreamId& stream,
                                           const RetentionPolicy& policy, absl::Time now) {
  WALSHIP_ASSIGN_OR_RETURN(StoreContents contents, ListStoreContents(store, stream));
  RetentionPlan plan = PlanRetention(contents, policy, now);
  WALSHIP_RETURN_IF_ERROR(ApplyRetention(store, plan));
  return plan;
}

absl::StatusOr<int> CleanIncompleteBases(sinks::ObjectStore& store,
                                         const sinks::StreamId& stream) {
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> objects,
                           store.List(absl::StrCat(stream.Prefix(), "base/")));
  std::map<Lsn, std::vector<std::string>> keys;
  std::map<Lsn, bool> has_manifest;
  for (const sinks::ObjectInfo& object : objects) {
    auto parsed = sinks::ParseBaseKey(object.key);
    if (!parsed) continue;
    keys[parsed->snapshot_lsn].push_back(object.key);
    if (parsed->file == "manifest.pb") has_manifest[parsed->snapshot_lsn] = true;
  }
  int deleted = 0;
  for (const auto& [lsn, base_keys] : keys) {
    if (has_manifest[lsn]) continue;
    for (const std::string& key : base_keys) {
      WALSHIP_RETURN_IF_ERROR(store.Delete(key));
      ++deleted;
    }
    LogInfo("removed incomplete base snapshot %s (%d objects) from %s", lsn.ToString(),
            static_cast<int>(base_keys.size()), store.url());
  }
  return deleted;
}

}  // namespace walship::agent::snapshot
