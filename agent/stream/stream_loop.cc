// The replication loop.
#include "agent/stream/stream_loop.h"

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agent/base/failpoint.h"
#include "agent/base/log.h"
#include "agent/base/status_macros.h"

namespace walship::agent {

StreamLoop::StreamLoop(StreamOptions options, std::vector<sinks::Sink*> sinks, Lsn confirmed,
                       const std::atomic<bool>* stop, AgentMetrics* metrics)
    : options_(std::move(options)),
      sinks_(std::move(sinks)),
      stop_(stop),
      tracker_(confirmed, options_.status_interval),
      assembler_(AssemblerOptions{options_.spill_dir, options_.memory_limit_per_transaction}),
      metrics_(metrics) {}

absl::Status StreamLoop::Run(std::unique_ptr<pg::ReplicationConnection> conn) {
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
    if (metrics_ != nullptr) {
      metrics_->SetState(AgentState::kReconnecting);
      metrics_->OnError("source", "connection");
    }
    LogWarning("%s; reconnecting (acknowledged up to %s)", status.message(),
               tracker_.flushed().ToString());
    while (conn == nullptr) {
      // Sinks keep making earlier transactions durable while we are away.
      absl::Time wake = absl::Now() + backoff * std::uniform_real_distribution<>(0.5, 1.0)(rng);
      while (absl::Now() < wake) {
        if (stop_->load()) {
          for (sinks::Sink* sink : sinks_) {
            WALSHIP_RETURN_IF_ERROR(sink->Flush(absl::Now() + options_.shutdown_flush_timeout));
          }
          return absl::OkStatus();
        }
        WALSHIP_RETURN_IF_ERROR(ServeSinks(absl::Now()));
        absl::SleepFor(std::min(absl::Milliseconds(50), wake - absl::Now()));
      }
      backoff = std::min(backoff * 2, options_.reconnect_max);
      auto reconnected = pg::ReplicationConnection::Connect(options_.conninfo);
      if (!reconnected.ok()) {
        if (reconnected.status().code() != absl::StatusCode::kUnavailable) {
          return reconnected.status();
        }
        LogWarning("%s; retrying in up to %s", reconnected.status().message(),
                   absl::FormatDuration(backoff));
        continue;
      }
      auto identity = (*reconnected)->IdentifySystem();
      if (!identity.ok()) {
        LogWarning("%s; retrying", identity.status().message());
        continue;
      }
      if (identity->system_id != options_.system_id) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "after reconnecting, the source is another cluster (system identifier %s, was "
            "%s): a failover or upgrade is a gap in the stream; take a new base",
            identity->system_id, options_.system_id));
      }
      conn = std::move(*reconnected);
    }
    backoff = options_.reconnect_min;
  }
}

absl::Status StreamLoop::ServeSinks(absl::Time now) {
  Lsn durable = Lsn::Max();
  for (sinks::Sink* sink : sinks_) {
    absl::Status polled = sink->Poll(now);
    if (!polled.ok()) {
      if (metrics_ != nullptr)
        metrics_->OnError(sink->name(), absl::StatusCodeToString(polled.code()));
      return Annotate(polled, absl::StrCat("sink ", sink->name()));
    }
    durable = std::min(durable, sink->DurableWatermark());
    if (metrics_ != nullptr) metrics_->OnSinkDurable(sink->name(), sink->DurableWatermark());
  }
  if (!sinks_.empty()) tracker_.OnDurable(durable);
  return absl::OkStatus();
}

absl::Status StreamLoop::SendStatus(pg::ReplicationConnection& conn, absl::Time now, bool reply) {
  CrashPoint("before-ack");
  WALSHIP_RETURN_IF_ERROR(conn.SendStatus(tracker_.written(), tracker_.flushed(), reply));
  tracker_.OnStatusSent(now);
  if (metrics_ != nullptr) metrics_->OnAcknowledged(tracker_.flushed());
  CrashPoint("after-ack");
  return absl::OkStatus();
}

absl::Status StreamLoop::FinishStream(pg::ReplicationConnection& conn) {
  if (metrics_ != nullptr) metrics_->SetState(AgentState::kStopping);
  absl::Time deadline = absl::Now() + options_.shutdown_flush_timeout;
  for (sinks::Sink* sink : sinks_) {
    WALSHIP_RETURN_IF_ERROR(Annotate(sink->Flush(deadline), absl::StrCat("sink ", sink->name())));
  }
  WALSHIP_RETURN_IF_ERROR(ServeSinks(absl::Now()));
  WALSHIP_RETURN_IF_ERROR(SendStatus(conn, absl::Now(), false));
  absl::Status ended = conn.EndStream();
  if (!ended.ok()) LogWarning("%s", ended.message());
  LogInfo("stopped; acknowledged up to %s", tracker_.flushed().ToString());
  return absl::OkStatus();
}

pg::PgConnection* StreamLoop::SideConnection() {
  if (side_conn_ == nullptr) {
    auto conn = pg::PgConnection::Connect(options_.conninfo, pg::ConnectionKind::kNormal);
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
  pg::PgConnection* conn = SideConnection();
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

void StreamLoop::SideWork(absl::Time now) {
  bool idle = !tracker_.HasInFlight() && !assembler_.InTransaction();
  bool heartbeat = false;
  if (options_.heartbeat_interval > absl::ZeroDuration() && now >= next_heartbeat_) {
    next_heartbeat_ = now + options_.heartbeat_interval;
    heartbeat = idle;
    pg::PgConnection* conn = idle ? SideConnection() : nullptr;
    if (conn != nullptr) {
      absl::Status status = conn->Exec(
          "SELECT pg_logical_emit_message(false, 'walship.heartbeat', now()::text)", "heartbeat");
      if (!status.ok()) {
        LogWarning("%s", status.message());
        side_conn_.reset();
      }
    }
  }
  RecordSequences(now, heartbeat);
  if (metrics_ != nullptr && now >= next_slot_stats_) {
    next_slot_stats_ = now + options_.slot_stats_interval;
    if (pg::PgConnection* conn = SideConnection()) {
      auto retained = conn->QueryValue(
          "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
          "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
          {options_.slot}, "reading the slot's retained WAL");
      int64_t bytes = 0;
      if (retained.ok() && retained->has_value() && absl::SimpleAtoi(**retained, &bytes)) {
        metrics_->SetSlotRetainedWalBytes(static_cast<uint64_t>(std::max<int64_t>(bytes, 0)));
      } else if (!retained.ok()) {
        LogWarning("%s", retained.status().message());
        side_conn_.reset();
      }
    }
  }
  if (options_.on_idle && idle && now >= next_idle_report_) {
    next_idle_report_ = now + options_.idle_report_interval;
    options_.on_idle(now, tracker_.flushed(), server_wal_end_);
    if (metrics_ != nullptr) metrics_->OnHeartbeat(now);
  }
}

absl::Status StreamLoop::HandOff(std::unique_ptr<proto::Transaction> txn) {
  const proto::TransactionInfo& info = txn->info();
  if (info.end_lsn <= tracker_.last_handed()) return absl::OkStatus();  // resent after reconnect
  if (info.event_count == 0) {
    tracker_.OnTransaction(info.end_lsn, /*empty=*/true);
    return absl::OkStatus();
  }
  for (sinks::Sink* sink : sinks_) {
    absl::Status written = sink->Write(*txn);
    if (!written.ok()) {
      if (metrics_ != nullptr)
        metrics_->OnError(sink->name(), absl::StatusCodeToString(written.code()));
      return Annotate(written, absl::StrFormat("sink %s, transaction %u at %s", sink->name(),
                                               info.xid, info.commit_lsn.ToString()));
    }
    if (metrics_ != nullptr) {
      metrics_->OnHandedOff(sink->name(), info.end_lsn, absl::FromUnixMicros(info.commit_time_us),
                            info.event_count, 0);
    }
  }
  tracker_.OnTransaction(info.end_lsn, /*empty=*/false);
  return absl::OkStatus();
}

absl::Status StreamLoop::HandleXLogData(const pg::CopyMessage& message) {
  tracker_.OnReceived(message.wal_start);
  server_wal_end_ = std::max(server_wal_end_, message.wal_end);
  if (metrics_ != nullptr) {
    metrics_->OnServerMessage(tracker_.written(), message.wal_end,
                              absl::FromUnixMicros(message.send_time_us));
  }
  if (LogEnabled(LogLevel::kDebug) && !message.payload.empty()) {
    LogDebug("received %s at %s", PgOutputMessageTypeName(message.payload[0]),
             message.wal_start.ToString());
  }
  auto decoded = decoder_.Decode(message.payload);
  if (!decoded.ok()) {
    return Annotate(decoded.status(),
                    absl::StrCat("decoding the message at ", message.wal_start.ToString()));
  }
  auto txn = assembler_.Feed(std::move(*decoded));
  if (!txn.ok()) {
    return Annotate(txn.status(), absl::StrCat("at ", message.wal_start.ToString()));
  }
  if (*txn != nullptr) return HandOff(std::move(*txn));
  return absl::OkStatus();
}

absl::Status StreamLoop::StreamOnce(pg::ReplicationConnection& conn) {
  assembler_ = TransactionAssembler(
      AssemblerOptions{options_.spill_dir, options_.memory_limit_per_transaction});
  decoder_ = PgOutputDecoder();
  WALSHIP_RETURN_IF_ERROR(conn.StartReplication(options_.slot, options_.publication, Lsn()));
  LogInfo("streaming from slot \"%s\" (publication \"%s\") at %s", options_.slot,
          options_.publication, tracker_.flushed().ToString());
  if (metrics_ != nullptr) metrics_->SetState(AgentState::kStreaming);
  while (true) {
    absl::Time now = absl::Now();
    WALSHIP_RETURN_IF_ERROR(ServeSinks(now));
    if (stop_->load()) {
      LogInfo("stop requested: flushing sinks");
      return FinishStream(conn);
    }
    if (options_.until_lsn.valid() && tracker_.flushed() >= options_.until_lsn) {
      LogInfo("reached --until-lsn %s", options_.until_lsn.ToString());
      return FinishStream(conn);
    }
    // Every transaction up to --until-lsn is handed off: nothing more will join the open
    // segments, so make them durable now rather than when the group-commit timer fires.
    if (options_.until_lsn.valid() && tracker_.last_handed() >= options_.until_lsn &&
        !assembler_.InTransaction()) {
      WALSHIP_RETURN_IF_ERROR(FinishStream(conn));
      if (tracker_.flushed() < options_.until_lsn) {
        return absl::InternalError(
            absl::StrFormat("the sinks hold only up to %s after flushing, not --until-lsn %s",
                            tracker_.flushed().ToString(), options_.until_lsn.ToString()));
      }
      LogInfo("reached --until-lsn %s", options_.until_lsn.ToString());
      return absl::OkStatus();
    }
    if (tracker_.StatusDue(now)) WALSHIP_RETURN_IF_ERROR(SendStatus(conn, now, false));
    SideWork(now);

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
      absl::SleepFor(std::clamp(tracker_.NextStatusDeadline() - now, absl::Milliseconds(1),
                                absl::Milliseconds(50)));
      continue;
    }
    if (backlogged_since_ != absl::InfiniteFuture()) {
      LogInfo("sinks drained after %s: resuming the stream",
              absl::FormatDuration(absl::Trunc(now - backlogged_since_, absl::Milliseconds(1))));
      backlogged_since_ = absl::InfiniteFuture();
    }

    absl::Time deadline = std::min(tracker_.NextStatusDeadline(), now + absl::Milliseconds(200));
    for (sinks::Sink* sink : sinks_) deadline = std::min(deadline, sink->NextDeadline());
    WALSHIP_ASSIGN_OR_RETURN(auto message, conn.Read(deadline));
    if (!message.has_value()) continue;
    if (message->kind == pg::CopyMessage::Kind::kKeepalive) {
      tracker_.OnKeepalive(message->wal_end, assembler_.InTransaction());
      server_wal_end_ = std::max(server_wal_end_, message->wal_end);
      if (metrics_ != nullptr) {
        metrics_->OnServerMessage(tracker_.written(), message->wal_end,
                                  absl::FromUnixMicros(message->send_time_us));
      }
      if (message->reply_requested) {
        WALSHIP_RETURN_IF_ERROR(ServeSinks(absl::Now()));
        WALSHIP_RETURN_IF_ERROR(SendStatus(conn, absl::Now(), false));
      }
      continue;
    }
    WALSHIP_RETURN_IF_ERROR(HandleXLogData(*message));
  }
}

}  // namespace walship::agent
