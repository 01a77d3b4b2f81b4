// Runs the agent from a validated configuration: opens the object stores (encrypted when
// configured), the metrics server, the source (slot, publication, DDL capture), takes the
// first base snapshot when the store has none, starts periodic bases with retention on a
// thread of their own, and streams until stopped.
#ifndef WALSHIP_AGENT_AGENT_RUNNER_H_
#define WALSHIP_AGENT_AGENT_RUNNER_H_

#include <atomic>

#include "absl/status/status.h"
#include "agent/agent_config.h"

namespace walship::agent {

// `stop` is set by the signal handler; returns when stopped (OK), --until-lsn was reached
// (OK) or on a permanent error.
absl::Status RunAgent(const AgentConfig& config, const std::atomic<bool>* stop);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_AGENT_RUNNER_H_
