// The agent's probes backed by its Prometheus metrics (AgentMetrics): what the replication
// loop, the base scheduler and the object stores report lands in the walship_* families.
// Each probe only forwards; names, labels and values are AgentMetrics' own.
#ifndef WALSHIP_AGENT_AGENT_PROBES_H_
#define WALSHIP_AGENT_AGENT_PROBES_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/base_scheduler.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/stream/stream_probe.h"
#include "sinks/object_store/retry_probe.h"

namespace walship::agent {

// All three borrow `metrics`, which must outlive them.
class MetricsStreamProbe final : public StreamProbe {
 public:
  explicit MetricsStreamProbe(AgentMetrics& metrics) : metrics_(metrics) {}
  void SetState(AgentState state) override { metrics_.SetState(state); }
  void OnError(absl::string_view component, absl::string_view kind) override {
    metrics_.OnError(component, kind);
  }
  void OnServerMessage(Lsn received, Lsn server_wal_end, absl::Time server_send_time) override {
    metrics_.OnServerMessage(received, server_wal_end, server_send_time);
  }
  void OnHandedOff(absl::string_view sink, Lsn end_lsn, absl::Time commit_time, uint64_t events,
                   uint64_t bytes) override {
    metrics_.OnHandedOff(sink, end_lsn, commit_time, events, bytes);
  }
  void OnSinkDurable(absl::string_view sink, Lsn watermark) override {
    metrics_.OnSinkDurable(sink, watermark);
  }
  void OnAcknowledged(Lsn flushed) override { metrics_.OnAcknowledged(flushed); }
  void SetSlotRetainedWalBytes(uint64_t bytes) override { metrics_.SetSlotRetainedWalBytes(bytes); }
  void OnHeartbeat(absl::Time time) override { metrics_.OnHeartbeat(time); }

 private:
  AgentMetrics& metrics_;
};

class MetricsBaseProbe final : public BaseProbe {
 public:
  explicit MetricsBaseProbe(AgentMetrics& metrics) : metrics_(metrics) {}
  void OnProgress(double ratio) override { metrics_.SetBaseSnapshotProgress(ratio); }
  void OnFailed(absl::string_view kind) override { metrics_.OnError("snapshot", kind); }
  void OnSucceeded(uint64_t rows, absl::Time finished) override {
    metrics_.AddBaseSnapshotRows(rows);
    metrics_.OnBaseSnapshotSucceeded(finished);
  }

 private:
  AgentMetrics& metrics_;
};

// Retried object-store requests count in walship_retries_total{sink=<store URL>}.
class MetricsRetryProbe final : public sinks::RetryProbe {
 public:
  explicit MetricsRetryProbe(AgentMetrics& metrics) : metrics_(metrics) {}
  void OnRetry(absl::string_view store, absl::string_view kind) override {
    metrics_.OnRetry(store, kind);
  }

 private:
  AgentMetrics& metrics_;
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_AGENT_PROBES_H_
