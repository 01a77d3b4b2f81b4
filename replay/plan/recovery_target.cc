// Recovery target description and --to-time parsing.
#include "replay/plan/recovery_target.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"

namespace walship::replay {

std::string RecoveryTarget::Describe() const {
  switch (kind) {
    case Kind::kEverything:
      return "everything";
    case Kind::kLsn:
      return absl::StrCat("commit LSN <= ", lsn.ToString());
    case Kind::kTime:
      return absl::StrCat("commit time <= ", FormatUtc(time));
    case Kind::kXid:
      return absl::StrFormat("xid %u (%s)", xid.value(), exclusive ? "exclusive" : "inclusive");
    case Kind::kMark:
      return absl::StrFormat("mark \"%s\"", mark);
  }
  return "everything";
}

absl::StatusOr<absl::Time> ParseTargetTime(absl::string_view text, absl::TimeZone local) {
  std::string input(absl::StripAsciiWhitespace(text));
  // A 'T' or a space may separate date and time; normalise to 'T'.
  if (input.size() > 10 && input[10] == ' ') input[10] = 'T';
  absl::Time time;
  std::string error;
  // With an explicit zone: "Z" or a numeric offset.
  std::string zoned = input;
  if (!zoned.empty() && (zoned.back() == 'Z' || zoned.back() == 'z')) {
    zoned.back() = '+';
    zoned += "00:00";
  }
  for (const char* format : {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M:%E*S%z"}) {
    if (absl::ParseTime(format, zoned, absl::UTCTimeZone(), &time, &error)) return time;
  }
  // A short offset such as "+02" (as PostgreSQL prints timestamptz).
  if (zoned.size() > 3) {
    char sign = zoned[zoned.size() - 3];
    if ((sign == '+' || sign == '-') && absl::ascii_isdigit(zoned.back()) &&
        absl::ascii_isdigit(zoned[zoned.size() - 2])) {
      std::string padded = zoned + ":00";
      if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S%Ez", padded, absl::UTCTimeZone(), &time, &error)) {
        return time;
      }
    }
  }
  // Without a zone: the given wall-clock time in `local`.
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", input, local, &time, &error)) return time;
  return absl::InvalidArgumentError(absl::StrFormat(
      "invalid time \"%s\": expected RFC 3339 with a zone (2024-05-01T14:05:00Z, "
      "2024-05-01T16:05:00+02:00) or \"YYYY-MM-DD HH:MM:SS[.ffffff]\" in local time",
      text));
}

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", time, absl::UTCTimeZone());
}

std::string FormatUtcMicros(int64_t unix_micros) {
  return FormatUtc(absl::FromUnixMicros(unix_micros));
}

absl::StatusOr<RecoveryTarget> BuildTarget(const TargetOptions& config) {
  RecoveryTarget target;
  if (!config.to_lsn.empty()) {
    target.kind = RecoveryTarget::Kind::kLsn;
    WALSHIP_ASSIGN_OR_RETURN(target.lsn, Lsn::Parse(config.to_lsn));
  } else if (!config.to_time.empty()) {
    target.kind = RecoveryTarget::Kind::kTime;
    WALSHIP_ASSIGN_OR_RETURN(target.time, ParseTargetTime(config.to_time, absl::LocalTimeZone()));
    LogInfo("--to-time \"%s\" resolves to %s UTC", config.to_time, FormatUtc(target.time));
  } else if (!config.to_xid.empty()) {
    target.kind = RecoveryTarget::Kind::kXid;
    uint32_t xid = 0;
    if (!absl::SimpleAtoi(config.to_xid, &xid)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("invalid --to-xid \"%s\": expected a transaction id", config.to_xid));
    }
    target.xid = Xid(xid);
    target.exclusive = config.exclusive;
  } else if (!config.to_mark.empty()) {
    target.kind = RecoveryTarget::Kind::kMark;
    target.mark = config.to_mark;
  }
  return target;
}

}  // namespace walship::replay
