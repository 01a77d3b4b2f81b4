// Where a restore stops: the recovery target the user asked for (like PostgreSQL's
// recovery_target_*), and parsing of the --to-time text.
#ifndef WALSHIP_REPLAY_PLAN_RECOVERY_TARGET_H_
#define WALSHIP_REPLAY_PLAN_RECOVERY_TARGET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"

namespace walship::replay {

struct RecoveryTarget {
  enum class Kind { kEverything, kLsn, kTime, kXid, kMark };
  Kind kind = Kind::kEverything;
  // kLsn: include transactions whose commit LSN is <= lsn.
  Lsn lsn;
  // kTime: stop before the first transaction whose commit time is after `time`.
  absl::Time time = absl::InfinitePast();
  // kXid: include the transaction (or, with `exclusive`, stop just before it).
  Xid xid;
  bool exclusive = false;
  // kMark: stop right after the transaction that wrote 'mark:NAME'.
  std::string mark;

  // "everything", "commit LSN <= 0/16B3748", "commit time <= 2024-05-01T14:05:00Z",
  // "xid 1234 (inclusive)".
  std::string Describe() const;
};

// Parses a --to-time value: RFC 3339 with a zone ("2024-05-01T14:05:00Z",
// "2024-05-01 16:05:00.25+02:00"), or "YYYY-MM-DD HH:MM:SS[.ffffff]" (also with 'T')
// meaning a wall-clock time in `local` (the machine's zone in the tool). Anything else is
// kInvalidArgument naming the accepted forms.
absl::StatusOr<absl::Time> ParseTargetTime(absl::string_view text, absl::TimeZone local);

// Formats a time as RFC 3339 UTC with microseconds: "2024-05-01T14:05:00.000000Z".
std::string FormatUtc(absl::Time time);
std::string FormatUtcMicros(int64_t unix_micros);

// The recovery target options of a command line, as given (at most one set).
struct TargetOptions {
  std::string to_lsn, to_time, to_xid, to_mark;
  bool exclusive = false;  // --to-xid: stop just before the transaction
};

// Parses the options into a target (kEverything when none is set): an LSN, a time
// (ParseTargetTime in the machine's zone; the resolved UTC time is logged), an xid, a mark.
// Bad text is kInvalidArgument naming the option.
absl::StatusOr<RecoveryTarget> BuildTarget(const TargetOptions& options);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_PLAN_RECOVERY_TARGET_H_
