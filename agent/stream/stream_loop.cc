// The replication loop.
#include "agent/stream/stream_loop.h"

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/pg/replication_connection.h"
#include "proto/core/failpoint.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"

namespace walship::agent {

namespace {

// The libpq sessions where the options leave them open.
StreamOptions WithDefaultSessions(StreamOptions options) {
  if (!options.connect_side) options.connect_side = pg::SessionsTo(options.conninfo);
  if (!options.reconnect) {
    options.reconnect = [conninfo = options.conninfo]()
        -> absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> {
      WALSHIP_ASSIGN_OR_RETURN(auto conn, pg::ReplicationConnection::Connect(conninfo));
      return std::unique_ptr<pg::ReplicationSession>(std::move(conn));
    };
  }
  return options;
}

}  // namespace

StreamLoop::StreamLoop(StreamOptions options, std::vector<sinks::Sink*> sinks, Lsn confirmed,
                       const std::atomic<bool>* stop, StreamProbe& probe, Clock& clock)
    : options_(WithDefaultSessions(std::move(options))),
      sinks_(std::move(sinks)),
      stop_(stop),
      probe_(probe),
      clock_(clock),
      tracker_(confirmed, options_.status_interval),
      assembler_(AssemblerOptions{options_.spill_dir, options_.memory_limit_per_transaction}),
      publication_(options_.connect_side, options_.publication, options_.publication_check_interval,
                   options_.on_tables_entered),
      start_confirmed_(confirmed) {
  if (options_.on_vouch) {
    tracker_.SetIdleLimit(confirmed);
    vouched_ = confirmed;
  }
}

absl::Status StreamLoop::Run(std::unique_ptr<pg::ReplicationSession> conn) {
  absl::Duration backoff = options_.reconnect_min;
  std::mt19937_64 rng(std::random_device{}());
  while (true) {
    absl::Status status = StreamOnce(*conn);
    if (status.ok()) return status;
    if (status.code() != absl::StatusCode::kUnavailable &&
        status.code() != absl::StatusCode::kCancelled) {
      return status;
    }
    conn.reset();
    probe_.SetState(AgentState::kReconnecting);
    probe_.OnError("source", "connection");
    LogWarning("%s; reconnecting (acknowledged up to %s)", status.message(),
               tracker_.flushed().ToString());
    while (conn == nullptr) {
      bool finished = false;
      absl::Duration wait = backoff * std::uniform_real_distribution<>(0.5, 1.0)(rng);
      backoff = std::min(backoff * 2, options_.reconnect_max);
      WALSHIP_ASSIGN_OR_RETURN(conn, Reconnect(wait, backoff, &finished));
      if (finished) return absl::OkStatus();
    }
    backoff = options_.reconnect_min;
  }
}

absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> StreamLoop::Reconnect(
    absl::Duration wait, absl::Duration next_backoff, bool* finished) {
  // Sinks keep making earlier transactions durable while we are away.
  absl::Time wake = clock_.Now() + wait;
  while (clock_.Now() < wake) {
    if (stop_->load()) {
      for (sinks::Sink* sink : sinks_) {
        WALSHIP_RETURN_IF_ERROR(sink->Flush(clock_.Now() + options_.shutdown_flush_timeout));
      }
      *finished = true;
      return nullptr;
    }
    WALSHIP_RETURN_IF_ERROR(ServeSinks(clock_.Now()));
    clock_.SleepFor(std::min(absl::Milliseconds(50), wake - clock_.Now()));
  }
  auto reconnected = options_.reconnect();
  if (!reconnected.ok()) {
    if (reconnected.status().code() != absl::StatusCode::kUnavailable) {
      return reconnected.status();
    }
    LogWarning("%s; retrying in up to %s", reconnected.status().message(),
               absl::FormatDuration(next_backoff));
    return nullptr;
  }
  auto identity = (*reconnected)->IdentifySystem();
  if (!identity.ok()) {
    LogWarning("%s; retrying", identity.status().message());
    return nullptr;
  }
  if (identity->system_id != options_.system_id) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "after reconnecting, the source is another cluster (system identifier %s, was "
        "%s): a failover or upgrade is a gap in the stream; take a new base",
        identity->system_id, options_.system_id));
  }
  return std::move(*reconnected);
}

absl::Status StreamLoop::ServeSinks(absl::Time now) {
  Lsn durable = Lsn::Max();
  for (sinks::Sink* sink : sinks_) {
    absl::Status polled = sink->Poll(now);
    if (!polled.ok()) {
      probe_.OnError(sink->name(), absl::StatusCodeToString(polled.code()));
      return Annotate(polled, absl::StrCat("sink ", sink->name()));
    }
    durable = std::min(durable, sink->DurableWatermark());
    probe_.OnSinkDurable(sink->name(), sink->DurableWatermark());
  }
  if (!sinks_.empty()) tracker_.OnDurable(durable);
  return absl::OkStatus();
}

absl::Status StreamLoop::SendStatus(pg::ReplicationSession& conn, absl::Time now, bool reply) {
  CrashPoint("before-ack");
  Lsn written = tracker_.written();
  Lsn flushed = tracker_.flushed();
  if (FailpointActive("hold-acknowledgements")) written = flushed = start_confirmed_;
  WALSHIP_RETURN_IF_ERROR(conn.SendStatus(written, flushed, reply));
  tracker_.OnStatusSent(now);
  probe_.OnAcknowledged(tracker_.flushed());
  CrashPoint("after-ack");
  return absl::OkStatus();
}

absl::Status StreamLoop::FinishStream(pg::ReplicationSession& conn) {
  probe_.SetState(AgentState::kStopping);
  absl::Time deadline = clock_.Now() + options_.shutdown_flush_timeout;
  for (sinks::Sink* sink : sinks_) {
    // In short waits, with status updates between them: a store slow to take the last
    // segments must not cost the connection (wal_sender_timeout) before they are confirmed.
    while (true) {
      absl::Time now = clock_.Now();
      absl::Time wait_until = std::max(tracker_.NextStatusDeadline(), now + absl::Milliseconds(10));
      absl::Status flushed = sink->Flush(std::min(deadline, wait_until));
      if (flushed.ok()) break;
      if (flushed.code() != absl::StatusCode::kDeadlineExceeded || clock_.Now() >= deadline) {
        return Annotate(flushed, absl::StrCat("sink ", sink->name()));
      }
      WALSHIP_RETURN_IF_ERROR(ServeSinks(now));
      if (tracker_.StatusDue(clock_.Now())) {
        WALSHIP_RETURN_IF_ERROR(SendStatus(conn, clock_.Now(), false));
      }
    }
  }
  WALSHIP_RETURN_IF_ERROR(ServeSinks(clock_.Now()));
  WALSHIP_RETURN_IF_ERROR(SendStatus(conn, clock_.Now(), false));
  absl::Status ended = conn.EndStream();
  if (!ended.ok()) LogWarning("%s", ended.message());
  LogInfo("stopped; acknowledged up to %s", tracker_.flushed().ToString());
  return absl::OkStatus();
}

pg::Session* StreamLoop::SideConnection() {
  if (side_conn_ == nullptr) {
    absl::StatusOr<std::unique_ptr<pg::Session>> conn = options_.connect_side();
    if (!conn.ok()) {
      LogWarning("side connection: %s", conn.status().message());
      return nullptr;
    }
    side_conn_ = std::move(*conn);
  }
  return side_conn_.get();
}

void StreamLoop::RecordSequences(absl::Time now, bool force) {
  if (options_.sequence_interval <= absl::ZeroDuration()) return;
  bool moved = tracker_.flushed() > sequences_flushed_ && now >= next_sequence_check_;
  if (!force && !moved && now < next_sequence_poll_) return;
  sequences_flushed_ = tracker_.flushed();
  next_sequence_check_ = now + options_.sequence_min_interval;
  next_sequence_poll_ = now + options_.sequence_interval;
  pg::Session* conn = SideConnection();
  if (conn == nullptr) return;
  absl::StatusOr<bool> recorded = sequences_.Record(*conn);
  if (!recorded.ok()) {
    // Once: a role without the right to write logical messages fails every time.
    if (!sequence_warned_) {
      LogWarning("%s; free-standing sequences are not recorded, so a restore sets them only "
                 "to their base values (grant the agent's role EXECUTE on "
                 "pg_logical_emit_message, or run it as a superuser)",
                 recorded.status().message());
      sequence_warned_ = true;
    }
    side_conn_.reset();
    return;
  }
  if (*recorded) LogDebug("recorded the free-standing sequences: %s", sequences_.last_values());
}

void StreamLoop::SendHeartbeatMessage(bool idle) {
  pg::Session* conn = idle ? SideConnection() : nullptr;
  if (conn == nullptr) return;
  absl::Status status = conn->Exec(
      "SELECT pg_logical_emit_message(false, 'walship.heartbeat', now()::text)", "heartbeat");
  if (!status.ok()) {
    LogWarning("%s", status.message());
    side_conn_.reset();
  }
}

void StreamLoop::ReadSlotStats() {
  pg::Session* conn = SideConnection();
  if (conn == nullptr) return;
  auto retained = conn->QueryValue(
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
      "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
      {options_.slot}, "reading the slot's retained WAL");
  int64_t bytes = 0;
  if (retained.ok() && retained->has_value() && absl::SimpleAtoi(**retained, &bytes)) {
    probe_.SetSlotRetainedWalBytes(static_cast<uint64_t>(std::max<int64_t>(bytes, 0)));
  } else if (!retained.ok()) {
    LogWarning("%s", retained.status().message());
    side_conn_.reset();
  }
}

void StreamLoop::SideWork(absl::Time now) {
  bool idle = !tracker_.HasInFlight() && !assembler_.InTransaction();
  bool heartbeat = false;
  if (options_.heartbeat_interval > absl::ZeroDuration() && now >= next_heartbeat_) {
    next_heartbeat_ = now + options_.heartbeat_interval;
    heartbeat = idle;
    SendHeartbeatMessage(idle);
  }
  RecordSequences(now, heartbeat);
  if (!assembler_.InTransaction()) {  // between transactions only
    publication_.Check(now, tracker_.last_handed(), [this] { return SideConnection(); });
  }
  if (options_.slot_stats_interval > absl::ZeroDuration() && now >= next_slot_stats_) {
    next_slot_stats_ = now + options_.slot_stats_interval;
    ReadSlotStats();
  }
  if (options_.on_idle && idle && now >= next_idle_report_) {
    next_idle_report_ = now + options_.idle_report_interval;
    options_.on_idle(now, tracker_.flushed(), server_wal_end_);
    probe_.OnHeartbeat(now);
  }
  if (options_.on_vouch && tracker_.PendingIdle().valid() && now >= next_vouch_) {
    next_vouch_ = now + options_.vouch_interval;
    options_.on_vouch(now, tracker_.PendingIdle(), server_wal_end_);
  }
  if (options_.vouched) {
    Lsn vouched = options_.vouched();
    if (vouched.valid() && vouched > vouched_) {
      vouched_ = vouched;
      tracker_.SetIdleLimit(vouched);
    }
  }
}

absl::Status StreamLoop::HandOff(std::unique_ptr<proto::Transaction> txn) {
  const proto::TransactionInfo& info = txn->info();
  publication_.NoteHandedOff(info.commit_time_us);
  if (info.end_lsn <= tracker_.last_handed()) return absl::OkStatus();  // resent after reconnect
  if (info.event_count == 0) {
    tracker_.OnTransaction(info.end_lsn, /*empty=*/true);
    return absl::OkStatus();
  }
  std::shared_ptr<const proto::Transaction> shared = std::move(txn);
  for (sinks::Sink* sink : sinks_) {
    absl::Status written = sink->WriteShared(shared);
    if (!written.ok()) {
      probe_.OnError(sink->name(), absl::StatusCodeToString(written.code()));
      return Annotate(written, absl::StrFormat("sink %s, transaction %u at %s", sink->name(),
                                               info.xid.value(), info.commit_lsn.ToString()));
    }
    probe_.OnHandedOff(sink->name(), info.end_lsn, absl::FromUnixMicros(info.commit_time_us),
                       info.event_count, 0);
  }
  tracker_.OnTransaction(info.end_lsn, /*empty=*/false);
  return absl::OkStatus();
}

absl::Status StreamLoop::HandleXLogData(const pg::CopyMessage& message) {
  tracker_.OnReceived(message.wal_start);
  server_wal_end_ = std::max(server_wal_end_, message.wal_end);
  probe_.OnServerMessage(tracker_.written(), message.wal_end,
                         absl::FromUnixMicros(message.send_time_us));
  if (LogEnabled(LogLevel::kDebug) && !message.payload.empty()) {
    LogDebug("received %s at %s", PgOutputMessageTypeName(message.payload[0]),
             message.wal_start.ToString());
  }
  auto decoded = decoder_.Decode(message.payload);
  if (!decoded.ok()) {
    return Annotate(decoded.status(),
                    absl::StrCat("decoding the message at ", message.wal_start.ToString()));
  }
  publication_.Note(*decoded);
  auto txn = assembler_.Feed(std::move(*decoded));
  if (!txn.ok()) {
    return Annotate(txn.status(), absl::StrCat("at ", message.wal_start.ToString()));
  }
  if (*txn != nullptr) return HandOff(std::move(*txn));
  return absl::OkStatus();
}

absl::Status StreamLoop::HandleKeepalive(pg::ReplicationSession& conn,
                                         const pg::CopyMessage& message) {
  tracker_.OnKeepalive(message.wal_end, assembler_.InTransaction());
  server_wal_end_ = std::max(server_wal_end_, message.wal_end);
  probe_.OnServerMessage(tracker_.written(), message.wal_end,
                         absl::FromUnixMicros(message.send_time_us));
  if (message.reply_requested) {
    WALSHIP_RETURN_IF_ERROR(ServeSinks(clock_.Now()));
    WALSHIP_RETURN_IF_ERROR(SendStatus(conn, clock_.Now(), false));
  }
  return absl::OkStatus();
}

void StreamLoop::AdoptSenderTimeout(pg::ReplicationSession& conn) {
  // While a sink pushes back the loop reads nothing, so it cannot see the server's keepalive
  // requests: its own status updates must come often enough for wal_sender_timeout.
  auto sender_timeout = conn.ShowSetting("wal_sender_timeout");
  absl::StatusOr<absl::Duration> timeout =
      sender_timeout.ok() ? ParsePgDuration(*sender_timeout) : sender_timeout.status();
  if (timeout.ok()) {
    absl::Duration interval = StatusIntervalFor(options_.status_interval, *timeout);
    if (interval != tracker_.status_interval()) {
      LogInfo("status updates every %s (the server's wal_sender_timeout is %s)",
              absl::FormatDuration(interval), absl::FormatDuration(*timeout));
    }
    tracker_.SetStatusInterval(interval);
  } else {
    LogWarning("reading wal_sender_timeout: %s; status updates every %s",
               timeout.status().message(), absl::FormatDuration(tracker_.status_interval()));
  }
}

absl::Status StreamLoop::CheckUntil(pg::ReplicationSession& conn, bool* done) {
  if (stop_->load()) {
    LogInfo("stop requested: flushing sinks");
    *done = true;
    return FinishStream(conn);
  }
  if (!options_.until_lsn.valid()) return absl::OkStatus();
  if (tracker_.flushed() >= options_.until_lsn) {
    LogInfo("reached --until-lsn %s", options_.until_lsn.ToString());
    *done = true;
    return FinishStream(conn);
  }
  // Every transaction up to --until-lsn is handed off: nothing more will join the open
  // segments, so make them durable now rather than when the group-commit timer fires.
  if (tracker_.last_handed() >= options_.until_lsn && !assembler_.InTransaction()) {
    *done = true;
    WALSHIP_RETURN_IF_ERROR(FinishStream(conn));
    if (tracker_.flushed() < options_.until_lsn) {
      return absl::InternalError(
          absl::StrFormat("the sinks hold only up to %s after flushing, not --until-lsn %s",
                          tracker_.flushed().ToString(), options_.until_lsn.ToString()));
    }
    LogInfo("reached --until-lsn %s", options_.until_lsn.ToString());
  }
  return absl::OkStatus();
}

bool StreamLoop::WaitWhileBacklogged(absl::Time now) {
  // Push-back: while a sink is over its memory bound, read nothing more (the server
  // buffers, the slot keeps the WAL) but keep the connection alive with status updates.
  sinks::Sink* backlogged = nullptr;
  for (sinks::Sink* sink : sinks_) {
    if (sink->Backlogged()) backlogged = sink;
  }
  if (backlogged != nullptr) {
    if (backlogged_since_ == absl::InfiniteFuture()) {
      backlogged_since_ = now;
      LogWarning("sink %s is over its memory bound: pausing the stream until it drains",
                 backlogged->name());
    }
    clock_.SleepFor(std::clamp(tracker_.NextStatusDeadline() - now, absl::Milliseconds(1),
                               absl::Milliseconds(50)));
    return true;
  }
  if (backlogged_since_ != absl::InfiniteFuture()) {
    LogInfo("sinks drained after %s: resuming the stream",
            absl::FormatDuration(absl::Trunc(now - backlogged_since_, absl::Milliseconds(1))));
    backlogged_since_ = absl::InfiniteFuture();
  }
  return false;
}

absl::Status StreamLoop::StreamOnce(pg::ReplicationSession& conn) {
  assembler_ = TransactionAssembler(
      AssemblerOptions{options_.spill_dir, options_.memory_limit_per_transaction});
  decoder_ = PgOutputDecoder();
  AdoptSenderTimeout(conn);
  WALSHIP_RETURN_IF_ERROR(conn.StartReplication(options_.slot, options_.publication, Lsn()));
  LogInfo("streaming from slot \"%s\" (publication \"%s\") at %s", options_.slot,
          options_.publication, tracker_.flushed().ToString());
  probe_.SetState(AgentState::kStreaming);
  while (true) {
    absl::Time now = clock_.Now();
    WALSHIP_RETURN_IF_ERROR(ServeSinks(now));
    bool done = false;
    WALSHIP_RETURN_IF_ERROR(CheckUntil(conn, &done));
    if (done) return absl::OkStatus();
    if (tracker_.StatusDue(now)) WALSHIP_RETURN_IF_ERROR(SendStatus(conn, now, false));
    SideWork(now);
    if (WaitWhileBacklogged(now)) continue;

    absl::Time deadline = std::min(tracker_.NextStatusDeadline(), now + absl::Milliseconds(200));
    for (sinks::Sink* sink : sinks_) deadline = std::min(deadline, sink->NextDeadline());
    WALSHIP_ASSIGN_OR_RETURN(auto message, conn.Read(deadline));
    if (!message.has_value()) continue;
    if (message->kind == pg::CopyMessage::Kind::kKeepalive) {
      WALSHIP_RETURN_IF_ERROR(HandleKeepalive(conn, *message));
      continue;
    }
    WALSHIP_RETURN_IF_ERROR(HandleXLogData(*message));
  }
}

}  // namespace walship::agent
