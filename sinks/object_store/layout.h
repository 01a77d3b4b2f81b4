// Object keys (ARCHITECTURE.md "Object store layout"). One stream's objects live under
// "<system-id>/<slot>/"; an S3 URL's prefix is handled by the store itself.
//
//   <system-id>/<slot>/wal/<first-commit-lsn16>-<last-end-lsn16>.seg   change segment
//   <system-id>/<slot>/index/<last-end-lsn16>.idx                      its SegmentIndex
//   <system-id>/<slot>/base/<lsn16>/manifest.pb, <table>.<n>.seg       base snapshots
#ifndef WALSHIP_SINKS_OBJECT_STORE_LAYOUT_H_
#define WALSHIP_SINKS_OBJECT_STORE_LAYOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/core/lsn.h"

namespace walship::sinks {

struct StreamId {
  StreamId() = default;
  StreamId(std::string system_id, std::string slot, std::string branch = "")
      : system_id(std::move(system_id)), slot(std::move(slot)), branch(std::move(branch)) {}

  std::string system_id;  // PostgreSQL's system identifier, decimal
  std::string slot;
  // The timeline branch (StreamIncarnation.branch): "" for the stream's first timeline,
  // "timeline-0000000N" for one the stream reached by a switch.
  std::string branch;
  // "<system-id>/<slot>/", or "<system-id>/<slot>/<branch>/"
  std::string Prefix() const;
  // "<system-id>/<slot>/" whatever the branch.
  std::string RootPrefix() const;
};

// "timeline-0000000N" (8 upper-case hex digits, as in WAL file names).
std::string BranchName(uint32_t timeline);
// <system-id>/<slot>/incarnation/<n, 8 digits>.json, and its number back (nullopt for
// anything else).
std::string IncarnationPrefix(const StreamId& stream);
std::string IncarnationKey(const StreamId& stream, uint32_t number);
std::optional<uint32_t> ParseIncarnationKey(absl::string_view key);
// <stream prefix>gap/<from16>-<to16>.json
std::string GapPrefix(const StreamId& stream);
std::string GapKey(const StreamId& stream, Lsn from, Lsn to);

std::string WalSegmentKey(const StreamId& stream, Lsn first_commit, Lsn last_end);
std::string SegmentIndexKey(const StreamId& stream, Lsn last_end);
// A part of a change segment split across objects:
// "<prefix>part/<first commit>-<16 hex: this build's random token>-<number, 6 digits>.seg".
// The token keeps a rebuilt segment (after a crash) from meeting the parts of the first try.
std::string SegmentPartKey(const StreamId& stream, Lsn first_commit, uint64_t token, int number);
// The first commit LSN a part key names (nullopt when it is not shaped like one).
std::optional<Lsn> ParseSegmentPartKey(absl::string_view key);
// Whether `part_key` names a part in the same stream branch as the segment `segment_key`
// (a damaged or forged reference elsewhere is refused).
bool IsPartKeyOfSegment(absl::string_view part_key, absl::string_view segment_key);

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

// Base snapshots (walship.proto "Base snapshots"):
//   <system-id>/<slot>/base/<snapshot-lsn16>/                 BaseDirKey (ends with '/')
//   <system-id>/<slot>/base/<snapshot-lsn16>/manifest.pb      BaseManifestKey
//   <system-id>/<slot>/base/<snapshot-lsn16>/<schema>.<table>.<n>.seg
// In the segment name, every byte of the schema and table names outside [A-Za-z0-9_] (also
// '.', '-' and non-ASCII bytes) is written as '-' plus two upper-case hex digits, so that
// any PostgreSQL name gives a valid key and the name splits at its dots unambiguously:
// "Deal Stage" → "Deal-20Stage". The manifest lists every key, so readers never need to
// rebuild one.
std::string BaseDirKey(const StreamId& stream, Lsn snapshot_lsn);
std::string BaseManifestKey(const StreamId& stream, Lsn snapshot_lsn);
std::string BaseSegmentKey(const StreamId& stream, Lsn snapshot_lsn, absl::string_view schema,
                           absl::string_view table, uint32_t n);
// The name encoding above and its inverse (nullopt for a malformed encoding).
std::string EncodeKeyName(absl::string_view name);
std::optional<std::string> DecodeKeyName(absl::string_view encoded);

// Any key under some "base/<lsn16>/": the snapshot LSN and the rest of the key after that
// directory ("manifest.pb", "public.deals.0.seg"); nullopt for anything else.
struct ParsedBaseKey {
  Lsn snapshot_lsn;
  std::string file;
};
std::optional<ParsedBaseKey> ParseBaseKey(absl::string_view key);
// "<schema>.<table>.<n>.seg" (the file part, or a whole key) → decoded names and n.
struct ParsedBaseSegmentKey {
  std::string schema;
  std::string table;
  uint32_t n = 0;
};
std::optional<ParsedBaseSegmentKey> ParseBaseSegmentKey(absl::string_view key);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_LAYOUT_H_
