// The agent's Prometheus metrics and the lag/RPO bookkeeping behind them.
#include "agent/metrics/agent_metrics.h"

#include <algorithm>
#include <string>
#include <utility>

namespace walship::agent {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& SegmentBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *buckets;
}
const prometheus::Histogram::BucketBoundaries& UploadBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

// Every 10 ms up to 300 ms (the range a healthy agent lives in), then coarser.
const prometheus::Histogram::BucketBoundaries& CommitToDurableBuckets() {
  static const auto* buckets = [] {
    auto* b = new prometheus::Histogram::BucketBoundaries;
    for (int ms = 10; ms <= 300; ms += 10) b->push_back(ms / 1000.0);
    for (double s : {0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0}) b->push_back(s);
    return b;
  }();
  return *buckets;
}

// Transactions tracked one by one for the commit-to-durable histogram; past this many
// waiting, later ones share the newest entry (and its older commit time).
constexpr size_t kMaxTimedCommits = 1 << 16;

constexpr AgentState kAllStates[] = {AgentState::kStreaming, AgentState::kSnapshotting,
                                     AgentState::kReconnecting, AgentState::kStopping};

double ToSeconds(absl::Duration d) { return std::max(0.0, absl::ToDoubleSeconds(d)); }

prometheus::Gauge& Gauge(prometheus::Registry& r, const char* name, const char* help) {
  return BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

const std::vector<std::string>& AgentMetrics::MetricNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>{
        "walship_acknowledged_lsn",
        "walship_agent_state",
        "walship_base_snapshot_last_success_timestamp_seconds",
        "walship_base_snapshot_progress_ratio",
        "walship_base_snapshot_rows_total",
        "walship_build_info",
        "walship_commit_to_durable_seconds",
        "walship_errors_total",
        "walship_heartbeat_timestamp_seconds",
        "walship_received_lsn",
        "walship_replication_lag_bytes",
        "walship_replication_lag_seconds",
        "walship_retries_total",
        "walship_rpo_seconds",
        "walship_segment_build_seconds",
        "walship_server_wal_lsn",
        "walship_sink_bytes_total",
        "walship_sink_durable_lsn",
        "walship_sink_events_total",
        "walship_sink_transactions_total",
        "walship_slot_retained_wal_bytes",
        "walship_upload_seconds",
    };
    std::sort(v->begin(), v->end());
    return v;
  }();
  return *names;
}

AgentMetrics::AgentMetrics(prometheus::Registry& r, absl::string_view version, Clock& clock)
    : clock_(clock),
      lag_bytes_(Gauge(r, "walship_replication_lag_bytes",
                       "Server WAL position minus the position acknowledged to PostgreSQL")),
      lag_seconds_(Gauge(r, "walship_replication_lag_seconds",
                         "Server time minus the commit time of the newest durable transaction "
                         "while work is pending, else 0")),
      rpo_seconds_(Gauge(r, "walship_rpo_seconds",
                         "Seconds of committed data not yet durable in every sink (server time "
                         "minus the oldest pending commit time)")),
      slot_retained_(Gauge(r, "walship_slot_retained_wal_bytes",
                           "WAL the replication slot holds back on the server")),
      acknowledged_lsn_(Gauge(r, "walship_acknowledged_lsn",
                              "Position acknowledged to PostgreSQL (durable in every sink)")),
      received_lsn_(Gauge(r, "walship_received_lsn", "Position received from PostgreSQL")),
      server_wal_lsn_(Gauge(r, "walship_server_wal_lsn", "Server WAL end it last reported")),
      sink_events_(BuildCounter()
                       .Name("walship_sink_events_total")
                       .Help("Row-change events handed to a sink")
                       .Register(r)),
      sink_transactions_(BuildCounter()
                             .Name("walship_sink_transactions_total")
                             .Help("Transactions handed to a sink")
                             .Register(r)),
      sink_bytes_(BuildCounter()
                      .Name("walship_sink_bytes_total")
                      .Help("Encoded bytes handed to a sink")
                      .Register(r)),
      sink_durable_(BuildGauge()
                        .Name("walship_sink_durable_lsn")
                        .Help("A sink's contiguous durable watermark")
                        .Register(r)),
      segment_build_(BuildHistogram()
                         .Name("walship_segment_build_seconds")
                         .Help("Time to build one change segment")
                         .Register(r)
                         .Add({}, SegmentBuckets())),
      commit_to_durable_(BuildHistogram()
                             .Name("walship_commit_to_durable_seconds")
                             .Help("From a transaction's commit at the source (server clock) "
                                   "to the moment every sink holds it durably")
                             .Register(r)
                             .Add({}, CommitToDurableBuckets())),
      upload_(BuildHistogram()
                  .Name("walship_upload_seconds")
                  .Help("Time for a sink to make one object or batch durable")
                  .Register(r)),
      retries_(BuildCounter()
                   .Name("walship_retries_total")
                   .Help("Retried sink operations by kind")
                   .Register(r)),
      errors_(BuildCounter()
                  .Name("walship_errors_total")
                  .Help("Errors by component and kind")
                  .Register(r)),
      snapshot_progress_(Gauge(r, "walship_base_snapshot_progress_ratio",
                               "Progress of the running base snapshot, 0 to 1")),
      snapshot_last_success_(Gauge(r, "walship_base_snapshot_last_success_timestamp_seconds",
                                   "Unix time the last base snapshot completed")),
      snapshot_rows_(BuildCounter()
                         .Name("walship_base_snapshot_rows_total")
                         .Help("Rows copied by base snapshots")
                         .Register(r)
                         .Add({})),
      state_(BuildGauge()
                 .Name("walship_agent_state")
                 .Help("1 for the agent's current state, 0 for the others")
                 .Register(r)),
      heartbeat_(Gauge(r, "walship_heartbeat_timestamp_seconds",
                       "Unix time of the last heartbeat object written")) {
  BuildGauge()
      .Name("walship_build_info")
      .Help("Always 1; the version label names the build")
      .Register(r)
      .Add({{"version", version.empty() ? std::string(WALSHIP_VERSION) : std::string(version)}})
      .Set(1);
  // Exported from the start (at 0), so that the error alert's increase() sees the first
  // reconnect and a scrape of a healthy agent shows the family the rules query.
  errors_.Add({{"component", "source"}, {"kind", "connection"}});
  absl::MutexLock lock(&mu_);
  state_since_ = clock_.Now();
  for (AgentState s : kAllStates) {
    state_.Add({{"state", std::string(AgentStateName(s))}}).Set(s == state_value_ ? 1 : 0);
  }
}

AgentMetrics::SinkState& AgentMetrics::Sink(absl::string_view name) {
  auto it = sinks_.find(name);
  if (it != sinks_.end()) return it->second;
  SinkState& s = sinks_[name];
  prometheus::Labels labels{{"sink", std::string(name)}};
  s.events = &sink_events_.Add(labels);
  s.transactions = &sink_transactions_.Add(labels);
  s.bytes = &sink_bytes_.Add(labels);
  s.durable_lsn = &sink_durable_.Add(labels);
  s.upload = &upload_.Add(labels, UploadBuckets());
  return s;
}

void AgentMetrics::OnServerMessage(Lsn received, Lsn server_wal_end, absl::Time server_send_time) {
  absl::MutexLock lock(&mu_);
  received_ = std::max(received_, received);
  server_wal_end_ = std::max(server_wal_end_, server_wal_end);
  server_time_ = server_send_time;
  server_time_local_ = clock_.Now();
  if (pending_.empty()) idle_server_time_ = server_send_time;
  UpdatePositionGauges();
}

void AgentMetrics::AddSinkBytes(absl::string_view sink, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  Sink(sink).bytes->Increment(static_cast<double>(bytes));
}

void AgentMetrics::OnHandedOff(absl::string_view sink, Lsn end_lsn, absl::Time commit_time,
                               uint64_t events, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_.Now();
  SinkState& s = Sink(sink);
  s.events->Increment(static_cast<double>(events));
  s.transactions->Increment();
  s.bytes->Increment(static_cast<double>(bytes));
  if (s.handed_off <= s.durable) s.progress_since = now;  // becomes pending now
  s.handed_off = std::max(s.handed_off, end_lsn);
  if (not_durable_.empty() || end_lsn > not_durable_.back().end_lsn) {
    if (not_durable_.size() >= kMaxTimedCommits) {
      not_durable_.back().end_lsn = end_lsn;
      ++not_durable_.back().count;
    } else {
      not_durable_.push_back({end_lsn, commit_time});
    }
  }

  if (end_lsn <= acknowledged_) return;
  if (!pending_.empty() && end_lsn <= pending_.back().end_lsn) return;  // another sink's copy
  if (pending_.empty()) ack_progress_since_ = now;
  if (pending_.size() >= kMaxTrackedTransactions) {
    PendingGroup& back = pending_.back();
    back.end_lsn = end_lsn;
    back.last_commit = std::max(back.last_commit, commit_time);
  } else {
    pending_.push_back({end_lsn, commit_time, commit_time});
  }
  UpdatePositionGauges();
}

void AgentMetrics::OnSinkDurable(absl::string_view sink, Lsn watermark) {
  absl::MutexLock lock(&mu_);
  SinkState& s = Sink(sink);
  if (watermark > s.durable) {
    s.durable = watermark;
    s.progress_since = clock_.Now();
    s.durable_lsn->Set(static_cast<double>(watermark.value()));
    ObserveDurable();
  }
}

void AgentMetrics::ObserveDurable() {
  if (not_durable_.empty()) return;
  Lsn everywhere = Lsn(UINT64_MAX);
  for (const auto& [name, sink] : sinks_) everywhere = std::min(everywhere, sink.durable);
  const absl::Time local_now = clock_.Now();
  const absl::Time now = server_time_ ? ServerNow(local_now) : local_now;
  while (!not_durable_.empty() && not_durable_.front().end_lsn <= everywhere) {
    const Commit& commit = not_durable_.front();
    const double seconds = ToSeconds(now - commit.commit_time);
    for (uint32_t i = 0; i < commit.count; ++i) commit_to_durable_.Observe(seconds);
    not_durable_.pop_front();
  }
}

void AgentMetrics::OnAcknowledged(Lsn flushed) {
  absl::MutexLock lock(&mu_);
  if (flushed <= acknowledged_) return;
  acknowledged_ = flushed;
  ack_progress_since_ = clock_.Now();
  while (!pending_.empty() && pending_.front().end_lsn <= flushed) {
    absl::Time commit = pending_.front().last_commit;
    if (!newest_durable_commit_ || commit > *newest_durable_commit_) {
      newest_durable_commit_ = commit;
    }
    pending_.pop_front();
  }
  if (pending_.empty() && server_time_) idle_server_time_ = ServerNow(clock_.Now());
  UpdatePositionGauges();
}

void AgentMetrics::UpdatePositionGauges() {
  received_lsn_.Set(static_cast<double>(received_.value()));
  server_wal_lsn_.Set(static_cast<double>(server_wal_end_.value()));
  acknowledged_lsn_.Set(static_cast<double>(acknowledged_.value()));
  Values v = ComputeLocked(clock_.Now());
  lag_bytes_.Set(static_cast<double>(v.lag_bytes));
  lag_seconds_.Set(v.lag_seconds);
  rpo_seconds_.Set(v.rpo_seconds);
}

absl::Time AgentMetrics::ServerNow(absl::Time local_now) const {
  // The server's clock at its last message plus the agent's elapsed time since: no skew.
  absl::Duration elapsed = std::max(absl::ZeroDuration(), local_now - server_time_local_);
  return *server_time_ + elapsed;
}

AgentMetrics::Values AgentMetrics::ComputeLocked(absl::Time local_now) const {
  Values v;
  Lsn head = std::max(server_wal_end_, received_);
  if (head > acknowledged_) v.lag_bytes = head.value() - acknowledged_.value();
  if (pending_.empty() || !server_time_) return v;
  absl::Time server_now = ServerNow(local_now);
  v.rpo_seconds = ToSeconds(server_now - pending_.front().first_commit);
  // The durable state is as of the newest durable commit, or of the last moment nothing was
  // pending, whichever is later (so one commit after an idle hour is not an hour of lag);
  // never later than the oldest pending commit, which is not durable. Hence lag >= RPO.
  absl::Time oldest_pending = pending_.front().first_commit;
  absl::Time reference = oldest_pending;
  if (newest_durable_commit_ || idle_server_time_) {
    reference = std::max(newest_durable_commit_.value_or(absl::InfinitePast()),
                         idle_server_time_.value_or(absl::InfinitePast()));
    reference = std::min(reference, oldest_pending);
  }
  v.lag_seconds = ToSeconds(server_now - reference);
  return v;
}

AgentMetrics::Values AgentMetrics::Compute() const {
  absl::MutexLock lock(&mu_);
  return ComputeLocked(clock_.Now());
}

void AgentMetrics::Refresh() {
  absl::MutexLock lock(&mu_);
  UpdatePositionGauges();
}

HealthSnapshot AgentMetrics::Snapshot() const {
  absl::MutexLock lock(&mu_);
  HealthSnapshot s;
  s.state = state_value_;
  s.state_since = state_since_;
  s.work_pending = !pending_.empty();
  s.acknowledged = acknowledged_;
  s.ack_progress_since = ack_progress_since_;
  for (const auto& [name, sink] : sinks_) {
    s.sinks.push_back({name, sink.handed_off, sink.durable, sink.progress_since});
  }
  std::sort(s.sinks.begin(), s.sinks.end(),
            [](const SinkProgress& a, const SinkProgress& b) { return a.name < b.name; });
  return s;
}

HealthVerdict AgentMetrics::Health(absl::Duration stall_threshold) const {
  return EvaluateHealth(Snapshot(), clock_.Now(), stall_threshold);
}

void AgentMetrics::SetState(AgentState state) {
  absl::MutexLock lock(&mu_);
  if (state == state_value_) return;
  state_value_ = state;
  state_since_ = clock_.Now();
  for (AgentState s : kAllStates) {
    state_.Add({{"state", std::string(AgentStateName(s))}}).Set(s == state ? 1 : 0);
  }
}

void AgentMetrics::SetSlotRetainedWalBytes(uint64_t bytes) {
  slot_retained_.Set(static_cast<double>(bytes));
}

void AgentMetrics::OnRetry(absl::string_view sink, absl::string_view kind) {
  retries_.Add({{"sink", std::string(sink)}, {"kind", std::string(kind)}}).Increment();
}

void AgentMetrics::OnError(absl::string_view component, absl::string_view kind) {
  errors_.Add({{"component", std::string(component)}, {"kind", std::string(kind)}}).Increment();
}

void AgentMetrics::ObserveSegmentBuild(absl::Duration elapsed) {
  segment_build_.Observe(ToSeconds(elapsed));
}

void AgentMetrics::ObserveUpload(absl::string_view sink, absl::Duration elapsed) {
  absl::MutexLock lock(&mu_);
  Sink(sink).upload->Observe(ToSeconds(elapsed));
}

void AgentMetrics::SetBaseSnapshotProgress(double ratio) {
  snapshot_progress_.Set(std::clamp(ratio, 0.0, 1.0));
}

void AgentMetrics::AddBaseSnapshotRows(uint64_t rows) {
  snapshot_rows_.Increment(static_cast<double>(rows));
}

void AgentMetrics::OnBaseSnapshotSucceeded(absl::Time finished) {
  snapshot_progress_.Set(1);
  snapshot_last_success_.Set(absl::ToDoubleSeconds(finished - absl::UnixEpoch()));
}

void AgentMetrics::OnHeartbeat(absl::Time time) {
  heartbeat_.Set(absl::ToDoubleSeconds(time - absl::UnixEpoch()));
}

}  // namespace walship::agent
