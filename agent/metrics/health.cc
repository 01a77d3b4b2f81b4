// The /healthz decision.
#include "agent/metrics/health.h"

#include "absl/strings/str_format.h"

namespace walship::agent {

absl::string_view AgentStateName(AgentState state) {
  switch (state) {
    case AgentState::kStreaming:
      return "streaming";
    case AgentState::kSnapshotting:
      return "snapshotting";
    case AgentState::kReconnecting:
      return "reconnecting";
    case AgentState::kStopping:
      return "stopping";
  }
  return "unknown";
}

namespace {

// Whole seconds keep the reason stable and short.
int64_t Seconds(absl::Duration d) { return absl::ToInt64Seconds(d); }

}  // namespace

HealthVerdict EvaluateHealth(const HealthSnapshot& s, absl::Time now,
                             absl::Duration stall_threshold) {
  if (s.state != AgentState::kStreaming) {
    std::string reason = absl::StrFormat("agent is %s", AgentStateName(s.state));
    if (s.state_since != absl::InfinitePast() && now >= s.state_since) {
      absl::StrAppendFormat(&reason, " (for %ds)", Seconds(now - s.state_since));
    }
    return {false, reason};
  }
  for (const SinkProgress& sink : s.sinks) {
    if (sink.handed_off <= sink.durable) continue;
    absl::Duration stalled = now - sink.progress_since;
    if (stalled > stall_threshold) {
      return {false, absl::StrFormat("sink \"%s\" stalled: durable at %s for %ds while %s is "
                                     "pending (threshold %ds)",
                                     sink.name, sink.durable.ToString(), Seconds(stalled),
                                     sink.handed_off.ToString(), Seconds(stall_threshold))};
    }
  }
  if (s.work_pending) {
    absl::Duration stalled = now - s.ack_progress_since;
    if (stalled > stall_threshold) {
      return {false, absl::StrFormat("acknowledged position %s has not moved for %ds with work "
                                     "pending (threshold %ds)",
                                     s.acknowledged.ToString(), Seconds(stalled),
                                     Seconds(stall_threshold))};
    }
  }
  return {true, "ok"};
}

}  // namespace walship::agent
