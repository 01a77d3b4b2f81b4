// The /healthz decision: a pure function of the agent's state and progress at a given time,
// so every case is testable without a clock or a server.
//
// Healthy (HTTP 200 "ok") only while streaming and acknowledging: the state is streaming,
// and with work pending neither the acknowledged position nor any sink's durable watermark
// has stood still for longer than the stall threshold. Otherwise 503 with a one-line reason.
#ifndef WALSHIP_AGENT_METRICS_HEALTH_H_
#define WALSHIP_AGENT_METRICS_HEALTH_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"

namespace walship::agent {

// What the agent is doing; exported as walship_agent_state{state=...} (1 for the current
// state, 0 for the others). kReconnecting also covers the first connection at start.
enum class AgentState { kStreaming, kSnapshotting, kReconnecting, kStopping };
// "streaming", "snapshotting", "reconnecting", "stopping".
absl::string_view AgentStateName(AgentState state);

// One sink's progress: it is pending while handed_off > durable; `progress_since` is when
// its watermark last moved (or when it became pending, whichever is later).
struct SinkProgress {
  std::string name;
  Lsn handed_off;
  Lsn durable;
  absl::Time progress_since = absl::InfinitePast();
};

struct HealthSnapshot {
  AgentState state = AgentState::kReconnecting;
  absl::Time state_since = absl::InfinitePast();
  // Transactions handed to the sinks and not yet acknowledged to PostgreSQL.
  bool work_pending = false;
  Lsn acknowledged;
  // When the acknowledged position last moved (or work became pending, whichever is later).
  absl::Time ack_progress_since = absl::InfinitePast();
  std::vector<SinkProgress> sinks;
};

struct HealthVerdict {
  bool healthy = false;
  std::string reason;  // "ok" when healthy; else one line, e.g. "agent is reconnecting"
};

// Default for how long a pending position may stand still before the agent is unhealthy.
inline constexpr absl::Duration kDefaultStallThreshold = absl::Seconds(60);

HealthVerdict EvaluateHealth(const HealthSnapshot& snapshot, absl::Time now,
                             absl::Duration stall_threshold = kDefaultStallThreshold);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_METRICS_HEALTH_H_
