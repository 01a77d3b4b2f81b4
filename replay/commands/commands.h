// The walship-replay commands: each Run* body reads the validated ReplayConfig, prints
// its result on stdout and returns an error that names the cause and the fix.
#ifndef WALSHIP_REPLAY_COMMANDS_COMMANDS_H_
#define WALSHIP_REPLAY_COMMANDS_COMMANDS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "replay/commands/replay_config.h"

namespace walship::replay {

// `list`: every stored stream, its branches, bases and recovery window.
absl::Status RunList(const ReplayConfig& config);
// `status`: the operator's one-screen view of a store.
absl::Status RunStatus(const ReplayConfig& config);
// `restore`: the target database as of the recovery target. The error says whether the
// target was written to.
absl::Status RunRestore(const ReplayConfig& config);
// `verify`: true when every compared table is equal in both databases.
absl::StatusOr<bool> RunVerify(const ReplayConfig& config);
// `drill`: true when a restore of the previous base plus changes equals the latest base.
absl::StatusOr<bool> RunDrillCommand(const ReplayConfig& config);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_COMMANDS_H_
