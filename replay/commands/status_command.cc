// `walship-replay status`: gathers and formats the store's state.
#include "replay/commands/status_command.h"

#include "absl/strings/match.h"
#include "replay/catalog/timeline_path.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "proto/core/status_macros.h"
#include "proto/walship.pb.h"
#include "replay/plan/recovery_target.h"
#include "replay/catalog/segment_catalog.h"

namespace walship::replay {
namespace {

// The stream a key belongs to: "<system-id>/<slot>/<wal|index|base|heartbeat>/...".
std::optional<std::pair<std::string, std::string>> StreamOfKey(absl::string_view key) {
  std::vector<absl::string_view> parts = absl::StrSplit(key, absl::MaxSplits('/', 3));
  if (parts.size() < 4) return std::nullopt;
  if (parts[2] != "wal" && parts[2] != "index" && parts[2] != "base" && parts[2] != "heartbeat" &&
      parts[2] != "incarnation" && parts[2] != "gap" && !absl::StartsWith(parts[2], "timeline-")) {
    return std::nullopt;
  }
  return std::make_pair(std::string(parts[0]), std::string(parts[1]));
}

std::string Commit(int64_t micros, absl::Time now) {
  if (micros == 0) return "unknown";
  absl::Time t = absl::FromUnixMicros(micros);
  return absl::StrFormat("%s (%s ago)", FormatUtc(t), FormatAge(now - t));
}

BaseSnapshotStatus ReadBase(sinks::ObjectStore* store, const std::string& key, Lsn lsn) {
  BaseSnapshotStatus base;
  base.manifest_key = key;
  base.snapshot_lsn = lsn;
  absl::StatusOr<std::string> data = store->Get(key);
  v1::BaseManifest manifest;
  if (!data.ok()) {
    base.error = std::string(data.status().message());
  } else if (!manifest.ParseFromString(*data)) {
    base.error = absl::StrFormat("\"%s\" is not a base manifest", key);
  } else {
    if (manifest.snapshot_time_us() != 0) {
      base.snapshot_time = absl::FromUnixMicros(manifest.snapshot_time_us());
    }
    if (manifest.finished_time_us() != 0) {
      base.finished_time = absl::FromUnixMicros(manifest.finished_time_us());
    }
    base.table_count = manifest.tables_size();
    for (const v1::BaseTable& table : manifest.tables()) base.row_count += table.row_count();
  }
  return base;
}

}  // namespace

std::string FormatAge(absl::Duration age) {
  if (age < absl::ZeroDuration()) return absl::StrCat("-", FormatAge(-age));
  int64_t s = absl::ToInt64Seconds(age);
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%dm %ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh %dm", s / 3600, s % 3600 / 60);
  return absl::StrFormat("%dd %dh", s / 86400, s % 86400 / 3600);
}

absl::StatusOr<StoreStatus> CollectStatus(sinks::ObjectStore* store, const std::string& system_id,
                                          const std::string& slot) {
  StoreStatus status;
  status.url = store->url();
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> objects, store->List(""));
  struct Found {
    uint64_t objects = 0, bytes = 0;
  };
  std::map<std::pair<std::string, std::string>, Found> streams;
  for (const sinks::ObjectInfo& object : objects) {
    ++status.object_count;
    status.total_bytes += object.size;
    auto stream = StreamOfKey(object.key);
    if (!stream) continue;
    if (!system_id.empty() && stream->first != system_id) continue;
    if (!slot.empty() && stream->second != slot) continue;
    Found& found = streams[*stream];
    ++found.objects;
    found.bytes += object.size;
  }

  for (auto& [id, found] : streams) {
    // The newest branch: its heartbeats, bases and segments (after a failover the older
    // timeline's are listed by `list`).
    WALSHIP_ASSIGN_OR_RETURN(StreamHistory history,
                             LoadStreamHistory(store, sinks::StreamId(id.first, id.second)));
    sinks::StreamId stream = NewestBranch(history, sinks::StreamId(id.first, id.second));
    StreamStatus s;
    s.timelines = history.branches.size();
    if (!history.incarnations.empty()) {
      const v1::StreamIncarnation& newest = history.incarnations.back();
      s.incarnation = absl::StrFormat("%d (%s), timeline %d", newest.number(), newest.reason(),
                                      newest.timeline());
      for (const StreamBranch& branch : history.branches) {
        if (branch.stream.branch == stream.branch) s.recorded_gaps = branch.gaps;
      }
    }
    // The branch's newest heartbeat (keys list in time order) and its bases.
    std::string newest_heartbeat;
    std::map<Lsn, std::string> manifests;
    for (const sinks::ObjectInfo& object : objects) {
      if (!absl::StartsWith(object.key, stream.Prefix())) continue;
      absl::string_view rest = absl::string_view(object.key).substr(stream.Prefix().size());
      if (absl::StartsWith(rest, "heartbeat/") && sinks::ParseHeartbeatKey(object.key)) {
        newest_heartbeat = std::max(newest_heartbeat, object.key);
      } else if (auto base = sinks::ParseBaseKey(object.key);
                 base && base->file == "manifest.pb" && absl::StartsWith(rest, "base/")) {
        manifests[base->snapshot_lsn] = object.key;
      }
    }
    WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog, SegmentCatalog::Load(store, stream));
    s.summary = Summarize(catalog);
    s.object_count = found.objects;
    s.total_bytes = found.bytes;
    if (!newest_heartbeat.empty()) {
      absl::StatusOr<std::string> data = store->Get(newest_heartbeat);
      absl::StatusOr<sinks::Heartbeat> heartbeat =
          data.ok() ? sinks::DecodeHeartbeat(*data) : data.status();
      if (heartbeat.ok()) {
        s.heartbeat = *heartbeat;
      } else {
        s.heartbeat_error =
            absl::StrFormat("\"%s\": %s", newest_heartbeat, heartbeat.status().message());
      }
    }
    s.base_snapshot_count = manifests.size();
    if (!manifests.empty()) {
      auto newest = manifests.rbegin();
      s.base = ReadBase(store, newest->second, newest->first);
    }
    // The window: history is contiguous only after the last gap.
    const std::vector<CatalogSegment>& segments = catalog.segments();
    size_t first = catalog.gaps().empty() ? 0 : catalog.gaps().back().next;
    Lsn after_gap = catalog.gaps().empty() ? Lsn() : catalog.gaps().back().to;
    if (s.base && s.base->snapshot_lsn >= after_gap) {
      s.window_start = s.base->snapshot_lsn;
      s.window_start_time = s.base->snapshot_time;
    } else if (first < segments.size()) {
      s.window_start = Lsn(segments[first].trailer.first_commit_lsn());
      s.window_start_time = absl::FromUnixMicros(segments[first].trailer.first_commit_time_us());
    }
    status.streams.push_back(std::move(s));
  }
  return status;
}

std::string FormatStatus(const StoreStatus& status, absl::Time now) {
  std::string out = absl::StrFormat("object store %s: %d objects, %d bytes\n", status.url,
                                    status.object_count, status.total_bytes);
  if (status.streams.empty()) return absl::StrCat(out, "no streams stored\n");
  for (const StreamStatus& s : status.streams) {
    const StreamSummary& m = s.summary;
    absl::StrAppendFormat(&out, "\nstream %s/%s: %d objects, %d bytes\n", m.stream.system_id,
                          m.stream.slot, s.object_count, s.total_bytes);
    if (m.segment_count == 0) {
      absl::StrAppend(&out, "  last durable:   no change segments yet\n");
    } else {
      absl::StrAppendFormat(&out, "  last durable:   %s, committed %s\n",
                            Lsn(m.last_end_lsn).ToString(), Commit(m.last_commit_time_us, now));
    }
    if (s.heartbeat) {
      absl::StrAppendFormat(&out, "  last heartbeat: %s (%s ago), acknowledged %s, server WAL %s\n",
                            FormatUtc(s.heartbeat->time), FormatAge(now - s.heartbeat->time),
                            s.heartbeat->acknowledged.ToString(),
                            s.heartbeat->server_wal.ToString());
    } else if (!s.heartbeat_error.empty()) {
      absl::StrAppendFormat(&out, "  last heartbeat: unreadable: %s\n", s.heartbeat_error);
    } else {
      absl::StrAppend(&out, "  last heartbeat: none\n");
    }
    if (m.segment_count == 0 && !s.base) {
      absl::StrAppend(&out, "  window:         empty (nothing to restore yet)\n");
    } else if (m.segment_count == 0) {
      absl::StrAppendFormat(&out, "  window:         base snapshot at %s only\n",
                            s.window_start.ToString());
    } else {
      absl::StrAppendFormat(
          &out, "  window:         %s (%s) .. %s (%s)%s\n", s.window_start.ToString(),
          s.window_start_time ? FormatUtc(*s.window_start_time) : std::string("unknown time"),
          Lsn(m.last_end_lsn).ToString(), FormatUtcMicros(m.last_commit_time_us),
          s.base ? "" : ", changes only (no base snapshot)");
    }
    if (!s.incarnation.empty()) {
      absl::StrAppendFormat(&out, "  incarnation:    %s%s\n", s.incarnation,
                            s.timelines > 1
                                ? absl::StrFormat("; the store holds %d timelines (see list)",
                                                  s.timelines)
                                : "");
    }
    for (const v1::GapRecord& gap : s.recorded_gaps) {
      absl::StrAppendFormat(&out, "  recorded gap:   %s .. %s, %s (%s)\n",
                            Lsn(gap.from_lsn()).ToString(), Lsn(gap.to_lsn()).ToString(),
                            gap.reason(), FormatUtcMicros(gap.recorded_time_us()));
    }
    if (!m.gaps.empty()) {
      const StreamGap& gap = m.gaps.back();
      absl::StrAppendFormat(&out, "  gaps:           %d, the last %s .. %s: no restore before it\n",
                            m.gaps.size(), gap.from.ToString(), gap.to.ToString());
    }
    if (!s.base) {
      absl::StrAppend(&out, "  base snapshot:  none\n");
    } else if (!s.base->error.empty()) {
      absl::StrAppendFormat(&out, "  base snapshot:  %s, unreadable manifest: %s\n",
                            s.base->snapshot_lsn.ToString(), s.base->error);
    } else {
      std::string when = "time unknown";
      if (s.base->snapshot_time) {
        when = absl::StrFormat("taken %s (%s ago)", FormatUtc(*s.base->snapshot_time),
                               FormatAge(now - *s.base->snapshot_time));
      }
      absl::StrAppendFormat(&out, "  base snapshot:  %s, %s, %d tables, %d rows (%d stored)\n",
                            s.base->snapshot_lsn.ToString(), when, s.base->table_count,
                            s.base->row_count, s.base_snapshot_count);
    }
    // Sign of life: the newest of the last commit and the last heartbeat.
    std::optional<absl::Time> alive;
    if (m.last_commit_time_us != 0) alive = absl::FromUnixMicros(m.last_commit_time_us);
    if (s.heartbeat && (!alive || s.heartbeat->time > *alive)) alive = s.heartbeat->time;
    if (alive && now - *alive > absl::Minutes(5)) {
      absl::StrAppendFormat(&out,
                            "  WARNING: nothing written for %s: an idle agent writes a heartbeat "
                            "every minute; check that it runs\n",
                            FormatAge(now - *alive));
    }
  }
  return out;
}

}  // namespace walship::replay
