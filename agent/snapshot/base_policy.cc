// Next base time: civil-time arithmetic in the policy's time zone.
#include "agent/snapshot/base_policy.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace walship::agent::snapshot {
namespace {

// The slot on civil day `day`.
absl::Time SlotOn(absl::CivilDay day, const TimeOfDay& at) {
  return absl::FromCivil(absl::CivilMinute(day.year(), day.month(), day.day(), at.hour,
                                           at.minute),
                         at.zone);
}

// The first slot at or after `t` (strictly after when `strict`).
absl::Time SlotAtOrAfter(absl::Time t, const TimeOfDay& at, bool strict) {
  absl::CivilDay day = absl::ToCivilDay(t, at.zone);
  for (int i = -1; i < 3; ++i) {
    absl::Time slot = SlotOn(day + i, at);
    if (strict ? slot > t : slot >= t) return slot;
  }
  return SlotOn(day + 3, at);  // unreachable: a day always holds one slot
}

// The latest slot at or before `t`.
absl::Time SlotAtOrBefore(absl::Time t, const TimeOfDay& at) {
  absl::CivilDay day = absl::ToCivilDay(t, at.zone);
  for (int i = 1; i > -3; --i) {
    absl::Time slot = SlotOn(day + i, at);
    if (slot <= t) return slot;
  }
  return SlotOn(day - 3, at);
}

}  // namespace

absl::StatusOr<TimeOfDay> ParseTimeOfDay(absl::string_view text) {
  auto invalid = [text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--base-at \"%s\": %s (expected \"HH:MM\" or \"HH:MM Zone/Name\", e.g. \"02:00 "
        "Europe/Berlin\")",
        text, why));
  };
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty());
  if (parts.empty() || parts.size() > 2) return invalid("wrong number of words");
  std::vector<absl::string_view> hm = absl::StrSplit(parts[0], ':');
  TimeOfDay at;
  if (hm.size() != 2 || hm[0].empty() || hm[0].size() > 2 || hm[1].size() != 2 ||
      !absl::SimpleAtoi(hm[0], &at.hour) || !absl::SimpleAtoi(hm[1], &at.minute) ||
      at.hour < 0 || at.hour > 23 || at.minute < 0 || at.minute > 59) {
    return invalid("not a valid time of day");
  }
  if (parts.size() == 2) {
    if (!absl::LoadTimeZone(std::string(parts[1]), &at.zone)) {
      return invalid(absl::StrFormat("unknown time zone \"%s\"", parts[1]));
    }
  } else {
    at.zone = absl::LocalTimeZone();
  }
  return at;
}

absl::Time NextBaseTime(std::optional<absl::Time> last_success, const BasePolicy& policy,
                        absl::Time now) {
  bool has_every = policy.every > absl::ZeroDuration();
  if (!has_every && !policy.at) return absl::InfiniteFuture();
  if (!last_success) return now;
  if (!policy.at) return *last_success + policy.every;
  if (!has_every) return SlotAtOrAfter(*last_success, *policy.at, /*strict=*/true);
  absl::Time anchor = SlotAtOrBefore(*last_success, *policy.at);
  return SlotAtOrAfter(anchor + policy.every, *policy.at, /*strict=*/false);
}

}  // namespace walship::agent::snapshot
