// Stream identity resolution at start.
#include "agent/stream_identity.h"

#include <map>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "agent/pg/pg_connection.h"
#include "proto/segment_reader.h"
#include "sinks/object_store/heartbeat.h"
#include "sinks/object_store/stream_history.h"

namespace walship::agent {
namespace {

std::string RandomId() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device() ^
                      static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())));
  return absl::StrFormat("%016x", rng());
}

// The timeline of a store written before incarnation records: its newest base manifest's,
// else its last segment header's; 0 when it holds neither.
absl::StatusOr<uint32_t> LegacyTimeline(sinks::ObjectStore& store, const sinks::StreamId& root) {
  WALSHIP_ASSIGN_OR_RETURN(auto bases, store.List(root.RootPrefix() + "base/"));
  for (auto it = bases.rbegin(); it != bases.rend(); ++it) {
    auto parsed = sinks::ParseBaseKey(it->key);
    if (!parsed || parsed->file != "manifest.pb") continue;
    WALSHIP_ASSIGN_OR_RETURN(std::string bytes, store.Get(it->key));
    v1::BaseManifest manifest;
    if (manifest.ParseFromString(bytes) && manifest.timeline() != 0) return manifest.timeline();
  }
  WALSHIP_ASSIGN_OR_RETURN(auto segments, store.List(root.RootPrefix() + "wal/"));
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    if (!sinks::ParseWalSegmentKey(it->key)) continue;
    WALSHIP_ASSIGN_OR_RETURN(auto source, store.Open(it->key));
    WALSHIP_ASSIGN_OR_RETURN(auto reader, proto::SegmentReader::Open(source.get()));
    return reader->header().timeline();
  }
  return 0;
}

// When the server switched to `timeline`, at the latest: its history file's modification
// time (to the second, so the end of that second), else now.
absl::Time SwitchTime(const std::string& conninfo, uint32_t timeline) {
  if (conninfo.empty()) return absl::Now();
  auto conn = pg::PgConnection::Connect(conninfo, pg::ConnectionKind::kNormal);
  if (!conn.ok()) return absl::Now();
  auto value = (*conn)->QueryValue(
      "SELECT (extract(epoch from (pg_catalog.pg_stat_file('pg_wal/' || $1)).modification) "
      "* 1000000)::bigint",
      {absl::StrFormat("%08X.history", timeline)}, "reading the timeline history file's time");
  int64_t micros = 0;
  if (value.ok() && value->has_value() && absl::SimpleAtoi(**value, &micros)) {
    // The file's time is kept to the second: its end is the latest the switch can have been.
    return absl::FromUnixMicros(micros + 999999);
  }
  return absl::Now();
}

// Every store's incarnation records, merged by number; two stores holding different
// incarnations under one number were written by two agents.
absl::StatusOr<std::map<uint32_t, v1::StreamIncarnation>> LoadIncarnationRecords(
    const std::vector<sinks::ObjectStore*>& stores, const sinks::StreamId& root) {
  std::map<uint32_t, v1::StreamIncarnation> records;
  for (sinks::ObjectStore* store : stores) {
    WALSHIP_ASSIGN_OR_RETURN(auto loaded, sinks::LoadIncarnations(*store, root));
    for (v1::StreamIncarnation& record : loaded) {
      auto [it, inserted] = records.emplace(record.number(), record);
      if (!inserted && it->second.id() != record.id()) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "the object stores disagree about incarnation %d of %s/%s (ids %s and %s): were "
            "they written by two agents? Give each stream its own store or slot",
            record.number(), root.system_id, root.slot, it->second.id(), record.id()));
      }
    }
  }
  return records;
}

// What each store's heartbeats of the chosen incarnation vouch for (at least `known`).
std::vector<Lsn> VouchedPositions(const std::vector<sinks::ObjectStore*>& stores,
                                  const StreamIdentity& identity, Lsn known) {
  std::vector<Lsn> vouched_by_store;
  for (sinks::ObjectStore* store : stores) {
    Lsn vouched = known;
    auto listed = store->List(sinks::HeartbeatPrefix(identity.stream));
    if (listed.ok()) {
      for (const sinks::ObjectInfo& object : *listed) {
        auto bytes = store->Get(object.key);
        if (!bytes.ok()) continue;
        auto heartbeat = sinks::DecodeHeartbeat(*bytes);
        if (!heartbeat.ok() || heartbeat->system_id != identity.stream.system_id ||
            heartbeat->incarnation != identity.incarnation.number() ||
            heartbeat->timeline != identity.incarnation.timeline()) {
          continue;
        }
        vouched = std::max(vouched, heartbeat->acknowledged);
      }
    }
    vouched_by_store.push_back(vouched);
  }
  return vouched_by_store;
}

}  // namespace

absl::StatusOr<std::vector<TimelineSwitch>> ParseTimelineHistory(absl::string_view content) {
  std::vector<TimelineSwitch> switches;
  for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::ByAnyChar("\t "),
                                                           absl::SkipEmpty());
    TimelineSwitch entry;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[0], &entry.parent)) {
      return absl::DataLossError(
          absl::StrFormat("malformed timeline history line \"%s\"", absl::CHexEscape(line)));
    }
    absl::StatusOr<Lsn> lsn = Lsn::Parse(fields[1]);
    if (!lsn.ok()) {
      return absl::DataLossError(absl::StrFormat(
          "timeline history line \"%s\" has no valid switch LSN", absl::CHexEscape(line)));
    }
    entry.switch_lsn = *lsn;
    switches.push_back(entry);
  }
  return switches;
}

absl::StatusOr<StreamIdentity> ResolveStreamIdentity(
    const std::vector<sinks::ObjectStore*>& stores, const ServerState& server,
    pg::ReplicationConnection& conn) {
  const sinks::StreamId root{server.identity.system_id, server.slot, ""};
  WALSHIP_ASSIGN_OR_RETURN(auto records, LoadIncarnationRecords(stores, root));
  StreamIdentity result;
  v1::StreamIncarnation next;
  next.set_format_version(sinks::kIncarnationFormatVersion);
  next.set_id(RandomId());
  next.set_system_id(server.identity.system_id);
  next.set_timeline(server.identity.timeline);
  next.set_slot(server.slot);
  next.set_created_time_us(absl::ToUnixMicros(absl::Now()));
  next.set_start_lsn(server.slot_confirmed.value());
  bool records_were_legacy = false;
  if (records.empty()) {
    // A store written before incarnation records holds incarnation 1 implicitly.
    uint32_t legacy_timeline = 0;
    for (sinks::ObjectStore* store : stores) {
      WALSHIP_ASSIGN_OR_RETURN(legacy_timeline, LegacyTimeline(*store, root));
      if (legacy_timeline != 0) break;
    }
    v1::StreamIncarnation first = next;
    first.set_number(1);
    first.set_reason("first");
    if (legacy_timeline != 0) {
      first.set_timeline(legacy_timeline);
      first.set_start_lsn(0);
      first.set_reason("first (stored before incarnation records)");
    }
    for (sinks::ObjectStore* store : stores) {
      WALSHIP_RETURN_IF_ERROR(sinks::PutIncarnation(*store, root, first));
    }
    records.emplace(1, first);
    records_were_legacy = legacy_timeline != 0;
    if (legacy_timeline == 0) {  // a fresh store
      result.stream = root;
      result.incarnation = first;
      result.new_incarnation = true;
    }
  }
  const v1::StreamIncarnation& last = records.rbegin()->second;
  const uint32_t timeline = server.identity.timeline;
  if (result.incarnation.number() != 0) {
    // Decided above (a fresh store).
  } else if (timeline < last.timeline()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the server %s is on timeline %d, but the store already follows timeline %d of system "
        "%s (incarnation %d): this looks like a former primary after a failover. Point the "
        "agent at the current primary, or give this server its own --slot or store",
        conn.Describe(), timeline, last.timeline(), root.system_id, last.number()));
  }
  next.set_number(last.number() + 1);
  next.set_parent(last.number());
  if (result.incarnation.number() != 0) {
    // Decided above.
  } else if (timeline > last.timeline()) {
    WALSHIP_ASSIGN_OR_RETURN(std::string history, conn.TimelineHistory(timeline));
    WALSHIP_ASSIGN_OR_RETURN(std::vector<TimelineSwitch> switches, ParseTimelineHistory(history));
    const TimelineSwitch* found = nullptr;
    for (const TimelineSwitch& entry : switches) {
      if (entry.parent == last.timeline()) found = &entry;
    }
    if (found == nullptr) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the server %s is on timeline %d, whose history does not pass through timeline %d "
          "that the store follows for system %s: it is not a successor of the stored history. "
          "Give it its own --slot or store",
          conn.Describe(), timeline, last.timeline(), root.system_id));
    }
    next.set_reason("timeline switch");
    next.set_branch(sinks::BranchName(timeline));
    next.set_parent_timeline(last.timeline());
    next.set_switch_lsn(found->switch_lsn.value());
    next.set_switch_time_us(absl::ToUnixMicros(SwitchTime(server.conninfo, timeline)));
    LogWarning("the server is on timeline %d (switched from timeline %d at %s): a failover. The "
               "store keeps timeline %d's history and starts a new branch \"%s\" with a new base",
               timeline, last.timeline(), found->switch_lsn.ToString(), last.timeline(),
               next.branch());
  } else if (server.slot_created) {
    next.set_reason("slot re-created");
    next.set_branch(last.branch());
    result.slot_reason = "slot re-created: changes made while no slot existed are not stored";
    LogWarning("replication slot \"%s\" was created again, but the store holds the history of "
               "an earlier one (incarnation %d): recording incarnation %d, a gap, and taking a "
               "new base",
               server.slot, last.number(), next.number());
  } else {
    result.stream = sinks::StreamId{root.system_id, root.slot, last.branch()};
    result.incarnation = last;
  }
  if (result.incarnation.number() == 0) {
    // A new incarnation: recorded in every store before anything of it is written.
    for (sinks::ObjectStore* store : stores) {
      WALSHIP_RETURN_IF_ERROR(sinks::PutIncarnation(*store, root, next));
    }
    result.stream = sinks::StreamId{root.system_id, root.slot, next.branch()};
    result.incarnation = next;
    result.new_incarnation = true;
  }
  // A store written before incarnation records, met for the first time: its agent
  // confirmed idle positions without vouching for them, so the slot's position is taken
  // as known (nothing tells a gap from an idle stretch there).
  const Lsn known = records_were_legacy && result.incarnation.number() == 1
                        ? server.slot_confirmed
                        : Lsn();
  result.vouched = VouchedPositions(stores, result, known);
  LogInfo("stream %s/%s: incarnation %d (%s), timeline %d%s", root.system_id, root.slot,
          result.incarnation.number(), result.incarnation.reason(),
          result.incarnation.timeline(),
          result.stream.branch.empty() ? "" : absl::StrCat(", branch ", result.stream.branch));
  return result;
}

}  // namespace walship::agent
