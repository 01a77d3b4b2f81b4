// Crash points for the crash tests: when the environment variable WALSHIP_CRASH_AT is
// "NAME" or "NAME:N", the process kills itself with SIGKILL the first (or N-th) time it
// reaches CrashPoint("NAME"). Unset (always, in production) it costs one branch.
#ifndef WALSHIP_PROTO_CORE_FAILPOINT_H_
#define WALSHIP_PROTO_CORE_FAILPOINT_H_

namespace walship {

void CrashPoint(const char* name);

// Behaviour switches for the fault tests: true when the comma-separated environment
// variable WALSHIP_FAILPOINTS names `name`. Unset (always, in production) nothing changes.
//   hold-acknowledgements: the agent confirms nothing past the slot's position at start (as
//   when it dies before its status update), so stored segments lie past the slot.
bool FailpointActive(const char* name);

}  // namespace walship

#endif  // WALSHIP_PROTO_CORE_FAILPOINT_H_
