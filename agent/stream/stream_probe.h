// StreamProbe: what the replication loop reports as it goes (for the agent's metrics), so
// that the loop knows nothing of Prometheus. The agent passes one backed by AgentMetrics
// (agent/agent_probes.h); NoOpStreamProbe ignores every call.
#ifndef WALSHIP_AGENT_STREAM_STREAM_PROBE_H_
#define WALSHIP_AGENT_STREAM_STREAM_PROBE_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/metrics/health.h"
#include "proto/core/lsn.h"

namespace walship::agent {

// Called from the loop's thread only (implementations may forward to thread-safe metrics).
class StreamProbe {
 public:
  virtual ~StreamProbe() = default;

  virtual void SetState(AgentState state) = 0;
  // A failure in `component` ("source", a sink's name) of `kind` (a status code's name or
  // "connection").
  virtual void OnError(absl::string_view component, absl::string_view kind) = 0;
  // A replication message arrived: the position processed so far, the server's WAL end and
  // its send time (server clock).
  virtual void OnServerMessage(Lsn received, Lsn server_wal_end, absl::Time server_send_time) = 0;
  // A committed transaction was handed to `sink` (once per sink).
  virtual void OnHandedOff(absl::string_view sink, Lsn end_lsn, absl::Time commit_time,
                           uint64_t events, uint64_t bytes) = 0;
  // `sink`'s contiguous durable watermark, after every poll.
  virtual void OnSinkDurable(absl::string_view sink, Lsn watermark) = 0;
  // The flush position sent to the server.
  virtual void OnAcknowledged(Lsn flushed) = 0;
  // WAL the slot holds back, in bytes (read every StreamOptions::slot_stats_interval).
  virtual void SetSlotRetainedWalBytes(uint64_t bytes) = 0;
  // An idle report (heartbeat object) was requested at `time`.
  virtual void OnHeartbeat(absl::Time time) = 0;
};

class NoOpStreamProbe : public StreamProbe {
 public:
  void SetState(AgentState) override {}
  void OnError(absl::string_view, absl::string_view) override {}
  void OnServerMessage(Lsn, Lsn, absl::Time) override {}
  void OnHandedOff(absl::string_view, Lsn, absl::Time, uint64_t, uint64_t) override {}
  void OnSinkDurable(absl::string_view, Lsn) override {}
  void OnAcknowledged(Lsn) override {}
  void SetSlotRetainedWalBytes(uint64_t) override {}
  void OnHeartbeat(absl::Time) override {}
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_STREAM_PROBE_H_
