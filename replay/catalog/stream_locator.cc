// Stream discovery from a listing of the store's keys.
#include "replay/catalog/stream_locator.h"

#include <set>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "proto/core/status_macros.h"

namespace walship::replay {

absl::StatusOr<std::vector<sinks::StreamId>> FindStreams(sinks::ObjectStore* store) {
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> objects, store->List(""));
  std::set<std::pair<std::string, std::string>> found;
  for (const sinks::ObjectInfo& object : objects) {
    std::vector<absl::string_view> parts = absl::StrSplit(object.key, '/');
    if (parts.size() != 4 && parts.size() != 5) continue;
    bool is_index = parts.size() == 4 && parts[2] == "index" &&
                    sinks::ParseSegmentIndexKey(parts[3]).has_value();
    bool is_wal = parts.size() == 4 && parts[2] == "wal" &&
                  sinks::ParseWalSegmentKey(parts[3]).has_value();
    // A complete base snapshot (its manifest) also makes a stream.
    bool is_base = parts.size() == 5 && parts[2] == "base" && parts[4] == "manifest.pb";
    if (!is_index && !is_wal && !is_base) continue;
    found.emplace(std::string(parts[0]), std::string(parts[1]));
  }
  std::vector<sinks::StreamId> streams;
  for (const auto& [system_id, slot] : found) streams.push_back({system_id, slot});
  return streams;
}

absl::StatusOr<sinks::StreamId> ResolveStream(sinks::ObjectStore* store,
                                              const std::string& system_id,
                                              const std::string& slot) {
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::StreamId> streams, FindStreams(store));
  if (streams.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "object store \"%s\" holds no change segments (is it the store the agent writes to?)",
        store->url()));
  }
  std::vector<sinks::StreamId> matching;
  for (const sinks::StreamId& stream : streams) {
    if ((system_id.empty() || stream.system_id == system_id) &&
        (slot.empty() || stream.slot == slot)) {
      matching.push_back(stream);
    }
  }
  auto names = [](const std::vector<sinks::StreamId>& list) {
    return absl::StrJoin(list, ", ", [](std::string* out, const sinks::StreamId& s) {
      absl::StrAppend(out, s.system_id, "/", s.slot);
    });
  };
  if (matching.size() == 1) return matching[0];
  if (matching.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "no stream in \"%s\" matches --system-id \"%s\" --slot \"%s\"; stored streams: %s",
        store->url(), system_id, slot, names(streams)));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "object store \"%s\" holds several streams; choose one with --system-id and --slot: %s",
      store->url(), names(matching)));
}

}  // namespace walship::replay
