// Object keys (ARCHITECTURE.md "Object store layout"). One stream's objects live under
// "<system-id>/<slot>/"; an S3 URL's prefix is handled by the store itself.
//
//   <system-id>/<slot>/wal/<first-commit-lsn16>-<last-end-lsn16>.seg   change segment
//   <system-id>/<slot>/index/<last-end-lsn16>.idx                      its SegmentIndex
//   <system-id>/<slot>/base/<lsn16>/manifest.pb, <table>.<n>.seg       base snapshots
#ifndef WALSHIP_SINKS_OBJECT_STORE_LAYOUT_H_
#define WALSHIP_SINKS_OBJECT_STORE_LAYOUT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/base/lsn.h"

namespace walship::sinks {

struct StreamId {
  std::string system_id;  // PostgreSQL's system identifier, decimal
  std::string slot;
  // "<system-id>/<slot>/"
  std::string Prefix() const;
};

std::string WalSegmentKey(const StreamId& stream, Lsn first_commit, Lsn last_end);
std::string SegmentIndexKey(const StreamId& stream, Lsn last_end);

struct ParsedSegmentKey {
  Lsn first_commit;
  Lsn last_end;
};
// Parses the file name part of a wal/ or index/ key; nullopt for anything else (a
// hostile or foreign object in a listing is skipped, never trusted).
std::optional<ParsedSegmentKey> ParseWalSegmentKey(absl::string_view key);
std::optional<Lsn> ParseSegmentIndexKey(absl::string_view key);

// Checks an object key: '/'-separated, non-empty segments of [A-Za-z0-9._-], none of them
// "." or "..", no leading or trailing '/'. Anything else is kInvalidArgument naming it.
absl::Status ValidateObjectKey(absl::string_view key);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_LAYOUT_H_
