// When the next periodic base snapshot is due: `--base-every 24h` and/or `--base-at 02:00`
// (optionally `--base-at "02:00 Europe/Berlin"`). Pure functions; safe from any thread.
#ifndef WALSHIP_AGENT_SNAPSHOT_BASE_POLICY_H_
#define WALSHIP_AGENT_SNAPSHOT_BASE_POLICY_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace walship::agent::snapshot {

// A wall-clock time of day in a time zone.
struct TimeOfDay {
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  absl::TimeZone zone;
};

// Parses "HH:MM" (the agent machine's local time zone) or "HH:MM Zone/Name" (an IANA zone,
// or "UTC"). kInvalidArgument naming the value and the expected form otherwise.
absl::StatusOr<TimeOfDay> ParseTimeOfDay(absl::string_view text);

struct BasePolicy {
  // --base-every: at most this long between bases (zero: not set).
  absl::Duration every = absl::ZeroDuration();
  // --base-at: bases start at this time of day.
  std::optional<TimeOfDay> at;
  bool enabled() const { return every > absl::ZeroDuration() || at.has_value(); }
};

// The time the next base snapshot should start, given when the last successful one started
// (nullopt: there is none yet). A result at or before `now` means "now".
//   - neither set: absl::InfiniteFuture() (no periodic bases);
//   - no last base: `now`;
//   - every only: last + every;
//   - at only: the first slot (time of day in its zone) after `last`;
//   - both: the first slot at or after S + every, where S is the latest slot at or before
//     `last` (so that a base that started a few minutes after its slot does not push the
//     next one a whole period later: every 24h at 02:00 stays at 02:00 every day).
// Daylight-saving gaps and repeats follow absl::FromCivil (the earlier instant).
absl::Time NextBaseTime(std::optional<absl::Time> last_success, const BasePolicy& policy,
                        absl::Time now);

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_BASE_POLICY_H_
