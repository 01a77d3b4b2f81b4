// The agent's Prometheus metrics (walship_* families) and the bookkeeping behind the derived
// ones: replication lag in bytes and seconds, the live RPO estimate, per-sink progress.
//
// Times that describe the source (commit times, the send time of a replication message)
// come from PostgreSQL's clock; lag and RPO are computed on that clock, advanced by the
// agent's own elapsed time since the last server message, so clock skew between the agent
// and the server does not distort them. Stall detection uses only the agent's clock.
//
// Typical calls from the replication loop:
//   every XLogData / keepalive   OnServerMessage(received, wal_end, send_time)
//   each transaction, per sink   OnHandedOff(sink, end_lsn, commit_time, events, bytes)
//   sink watermark moved         OnSinkDurable(sink, watermark)
//   flush position moved         OnAcknowledged(flushed)
//   state change                 SetState(AgentState::kStreaming)
//   failures                     OnRetry(sink, kind), OnError(component, kind)
// MetricsServer calls Refresh() before every scrape; callers may call it too.
#ifndef WALSHIP_AGENT_METRICS_AGENT_METRICS_H_
#define WALSHIP_AGENT_METRICS_AGENT_METRICS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/core/clock.h"
#include "proto/core/lsn.h"
#include "agent/metrics/health.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace walship::agent {

// Thread-safe: every method may be called from any thread. The registry must outlive this
// object; families are registered once in the constructor (a registry holds at most one
// AgentMetrics). `version` labels walship_build_info (empty: this build's version).
// `clock` is the agent's clock (a fake in tests); it must outlive this object.
class AgentMetrics {
 public:
  // At most this many not-yet-durable transactions are tracked one by one; beyond it
  // neighbours are merged, which only ever overstates lag and RPO a little.
  static constexpr size_t kMaxTrackedTransactions = 65536;

  explicit AgentMetrics(prometheus::Registry& registry, absl::string_view version = "",
                        Clock& clock = SystemClock());
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  // Every metric family name this class registers, sorted (for checks that alert rules and
  // dashboards only use names the agent exports).
  static const std::vector<std::string>& MetricNames();

  // A replication message arrived: `received` is the position processed so far (for a
  // keepalive with no transaction open, its WAL end), `server_wal_end` the server's WAL
  // end it reported, `server_send_time` its send time (server clock).
  void OnServerMessage(Lsn received, Lsn server_wal_end, absl::Time server_send_time);

  // A committed transaction (ending at `end_lsn`, committed at `commit_time` on the server)
  // was handed to `sink`. Call once per sink; the transaction counts as pending until
  // OnAcknowledged() reaches `end_lsn`. Transactions arrive in commit order.
  void OnHandedOff(absl::string_view sink, Lsn end_lsn, absl::Time commit_time, uint64_t events,
                   uint64_t bytes);
  // `sink`'s contiguous durable watermark (sinks::Sink::DurableWatermark()).
  void OnSinkDurable(absl::string_view sink, Lsn watermark);
  // The position acknowledged to PostgreSQL (durable in every sink) moved to `flushed`.
  void OnAcknowledged(Lsn flushed);

  void SetState(AgentState state);
  // WAL the slot holds back (pg_current_wal_lsn() - restart_lsn), in bytes.
  void SetSlotRetainedWalBytes(uint64_t bytes);

  void OnRetry(absl::string_view sink, absl::string_view kind);
  void OnError(absl::string_view component, absl::string_view kind);
  void ObserveSegmentBuild(absl::Duration elapsed);
  void ObserveUpload(absl::string_view sink, absl::Duration elapsed);
  // Bytes a sink stored (object sinks report whole segments once stored).
  void AddSinkBytes(absl::string_view sink, uint64_t bytes);

  // Base snapshot progress in [0, 1], rows copied (added to the counter), and completion.
  void SetBaseSnapshotProgress(double ratio);
  void AddBaseSnapshotRows(uint64_t rows);
  void OnBaseSnapshotSucceeded(absl::Time finished);
  // A heartbeat object was written at `time`.
  void OnHeartbeat(absl::Time time);

  // Recomputes the time-derived gauges (lag seconds, RPO) for the agent's clock now.
  void Refresh();

  // The current values behind the derived gauges (for tests and /healthz).
  struct Values {
    uint64_t lag_bytes = 0;
    double lag_seconds = 0;
    double rpo_seconds = 0;
  };
  Values Compute() const;
  // Inputs for EvaluateHealth() as of the agent's clock now.
  HealthSnapshot Snapshot() const;
  // EvaluateHealth(Snapshot(), agent's clock now, stall_threshold): what /healthz answers.
  HealthVerdict Health(absl::Duration stall_threshold = kDefaultStallThreshold) const;

 private:
  struct PendingGroup {  // one or several consecutive transactions not yet acknowledged
    Lsn end_lsn;
    absl::Time first_commit;
    absl::Time last_commit;
  };
  struct Commit {  // a transaction handed off and not yet durable in every sink
    Lsn end_lsn;
    absl::Time commit_time;
    uint32_t count = 1;  // more than one when the queue was full: later ones folded in
  };
  struct SinkState {
    prometheus::Counter* events = nullptr;
    prometheus::Counter* transactions = nullptr;
    prometheus::Counter* bytes = nullptr;
    prometheus::Gauge* durable_lsn = nullptr;
    prometheus::Histogram* upload = nullptr;
    Lsn handed_off;
    Lsn durable;
    absl::Time progress_since = absl::InfinitePast();  // last advance, or start of pending
  };

  SinkState& Sink(absl::string_view sink) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time ServerNow(absl::Time local_now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Values ComputeLocked(absl::Time local_now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void UpdatePositionGauges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Observes commit-to-durable for the transactions every sink now holds.
  void ObserveDurable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;

  prometheus::Gauge& lag_bytes_;
  prometheus::Gauge& lag_seconds_;
  prometheus::Gauge& rpo_seconds_;
  prometheus::Gauge& slot_retained_;
  prometheus::Gauge& acknowledged_lsn_;
  prometheus::Gauge& received_lsn_;
  prometheus::Gauge& server_wal_lsn_;
  prometheus::Family<prometheus::Counter>& sink_events_;
  prometheus::Family<prometheus::Counter>& sink_transactions_;
  prometheus::Family<prometheus::Counter>& sink_bytes_;
  prometheus::Family<prometheus::Gauge>& sink_durable_;
  prometheus::Histogram& segment_build_;
  prometheus::Histogram& commit_to_durable_;
  prometheus::Family<prometheus::Histogram>& upload_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Gauge& snapshot_progress_;
  prometheus::Gauge& snapshot_last_success_;
  prometheus::Counter& snapshot_rows_;
  prometheus::Family<prometheus::Gauge>& state_;
  prometheus::Gauge& heartbeat_;

  mutable absl::Mutex mu_;
  AgentState state_value_ ABSL_GUARDED_BY(mu_) = AgentState::kReconnecting;
  absl::Time state_since_ ABSL_GUARDED_BY(mu_);
  Lsn received_ ABSL_GUARDED_BY(mu_);
  Lsn server_wal_end_ ABSL_GUARDED_BY(mu_);
  Lsn acknowledged_ ABSL_GUARDED_BY(mu_);
  // The server's clock at its last message, and the agent's clock when it arrived.
  std::optional<absl::Time> server_time_ ABSL_GUARDED_BY(mu_);
  absl::Time server_time_local_ ABSL_GUARDED_BY(mu_);
  // Server time of the last message seen with nothing pending (everything received was
  // durable then), and the commit time of the newest acknowledged transaction.
  std::optional<absl::Time> idle_server_time_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> newest_durable_commit_ ABSL_GUARDED_BY(mu_);
  std::deque<PendingGroup> pending_ ABSL_GUARDED_BY(mu_);
  std::deque<Commit> not_durable_ ABSL_GUARDED_BY(mu_);
  absl::Time ack_progress_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::flat_hash_map<std::string, SinkState> sinks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_METRICS_AGENT_METRICS_H_
