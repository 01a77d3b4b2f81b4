// The replication loop.
#include "agent/stream/stream_loop.h"

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "proto/core/failpoint.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"

namespace walship::agent {

StreamLoop::StreamLoop(StreamOptions options, std::vector<sinks::Sink*> sinks, Lsn confirmed,
                       const std::atomic<bool>* stop, AgentMetrics* metrics)
    : options_(std::move(options)),
      sinks_(std::move(sinks)),
      stop_(stop),
      tracker_(confirmed, options_.status_interval),
      assembler_(AssemblerOptions{options_.spill_dir, options_.memory_limit_per_transaction}),
      metrics_(metrics),
      start_confirmed_(confirmed) {
  if (options_.on_vouch) {
    tracker_.SetIdleLimit(confirmed);
    vouched_ = confirmed;
  }
}

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
  Lsn written = tracker_.written();
  Lsn flushed = tracker_.flushed();
  if (FailpointActive("hold-acknowledgements")) written = flushed = start_confirmed_;
  WALSHIP_RETURN_IF_ERROR(conn.SendStatus(written, flushed, reply));
  tracker_.OnStatusSent(now);
  if (metrics_ != nullptr) metrics_->OnAcknowledged(tracker_.flushed());
  CrashPoint("after-ack");
  return absl::OkStatus();
}

absl::Status StreamLoop::FinishStream(pg::ReplicationConnection& conn) {
  if (metrics_ != nullptr) metrics_->SetState(AgentState::kStopping);
  absl::Time deadline = absl::Now() + options_.shutdown_flush_timeout;
  for (sinks::Sink* sink : sinks_) {
    // In short waits, with status updates between them: a store slow to take the last
    // segments must not cost the connection (wal_sender_timeout) before they are confirmed.
    while (true) {
      absl::Time now = absl::Now();
      absl::Time wait_until = std::max(tracker_.NextStatusDeadline(), now + absl::Milliseconds(10));
      absl::Status flushed = sink->Flush(std::min(deadline, wait_until));
      if (flushed.ok()) break;
      if (flushed.code() != absl::StatusCode::kDeadlineExceeded || absl::Now() >= deadline) {
        return Annotate(flushed, absl::StrCat("sink ", sink->name()));
      }
      WALSHIP_RETURN_IF_ERROR(ServeSinks(now));
      if (tracker_.StatusDue(absl::Now())) {
        WALSHIP_RETURN_IF_ERROR(SendStatus(conn, absl::Now(), false));
      }
    }
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

namespace {

// The publication's leaf tables (a partitioned table's partitions; with
// publish_via_partition_root, the partitions under each published root), each with whether
// it holds a row now.
constexpr char kPublishedLeavesSql[] = R"sql(
SELECT DISTINCT l.relid::oid::text, pg_catalog.format('%I.%I', n.nspname, c.relname)
FROM pg_catalog.pg_publication_tables p
CROSS JOIN LATERAL (SELECT pg_catalog.format('%I.%I', p.schemaname, p.tablename)
                             ::pg_catalog.regclass AS rel) r
CROSS JOIN LATERAL (
  SELECT t.relid FROM pg_catalog.pg_partition_tree(r.rel) t WHERE t.isleaf
  UNION
  SELECT r.rel WHERE (SELECT k.relkind FROM pg_catalog.pg_class k WHERE k.oid = r.rel) = 'r') l
JOIN pg_catalog.pg_class c ON c.oid = l.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1)sql";

// Every table outside the system schemas (a table that exists unpublished may enter later).
constexpr char kTablesSql[] = R"sql(
SELECT c.oid::text FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'walship')
  AND n.nspname NOT LIKE 'pg\_%')sql";

}  // namespace

// Whether the transaction with 32-bit id $1 is visible to a snapshot taken now: the server
// sends a commit before the committing backend leaves the proc array, and the catalog read
// after it must see the transaction's schema change. The full id is the one below the
// snapshot's xmax with those low bits.
constexpr char kVisibleSql[] = R"sql(
SELECT pg_catalog.pg_visible_in_snapshot(
  (CASE WHEN b.base + $1::numeric > m.xmax THEN b.base + $1::numeric - 4294967296
        ELSE b.base + $1::numeric END)::text::pg_catalog.xid8, s.snap)
FROM (SELECT pg_catalog.pg_current_snapshot() AS snap) s
CROSS JOIN LATERAL (SELECT pg_catalog.pg_snapshot_xmax(s.snap)::text::numeric AS xmax) m
CROSS JOIN LATERAL (SELECT floor(m.xmax / 4294967296) * 4294967296 AS base) b)sql";

void StreamLoop::CheckPublication(absl::Time now) {
  if (!options_.on_tables_entered) return;
  if (assembler_.InTransaction()) return;  // between transactions only
  if (!publication_check_due_ && now < next_publication_check_) return;
  // At most one check every 200 ms: a migration of many small DDL transactions is checked
  // once per burst, not once per transaction (each check opens a session).
  if (now < last_publication_check_ + absl::Milliseconds(200)) return;
  pg::PgConnection* conn = SideConnection();
  if (conn == nullptr) return;
  if (ddl_xid_.has_value()) {
    if (ddl_seen_at_ == absl::InfinitePast()) ddl_seen_at_ = now;
    absl::StatusOr<std::optional<std::string>> visible = conn->QueryValue(
        kVisibleSql, {absl::StrCat(*ddl_xid_)}, "waiting for a schema change to be visible");
    // Not yet visible: the next turn asks again (for at most a few seconds: a streamed
    // transaction that aborted never becomes visible).
    if (visible.ok() && visible->value_or("f") != "t" && now - ddl_seen_at_ < absl::Seconds(5)) {
      return;
    }
    if (!visible.ok()) LogWarning("%s", visible.status().message());
    ddl_xid_.reset();
    ddl_seen_at_ = absl::InfinitePast();
  }
  // A session of its own: a long-lived one may read the catalog through a catalog snapshot
  // that predates the schema change (kept until its invalidation messages arrive, which the
  // committing backend sends after it becomes visible).
  absl::StatusOr<std::unique_ptr<pg::PgConnection>> fresh =
      pg::PgConnection::Connect(options_.conninfo, pg::ConnectionKind::kNormal);
  if (!fresh.ok()) {
    LogWarning("checking the publication's tables: %s", fresh.status().message());
    return;
  }
  conn = fresh->get();
  // The tables first: one created between the two reads then counts as published, never as
  // one that was there before (which only a later check may say).
  absl::StatusOr<pg::QueryResult> tables = conn->Query(kTablesSql, {}, "listing the tables");
  absl::StatusOr<pg::QueryResult> leaves =
      tables.ok() ? conn->Query(kPublishedLeavesSql, {options_.publication},
                                "listing the published tables")
                  : tables.status();
  if (!leaves.ok()) {
    LogWarning("checking the publication's tables: %s", leaves.status().message());
    return;
  }
  publication_check_due_ = false;
  last_publication_check_ = now;
  next_publication_check_ = now + options_.publication_check_interval;
  absl::flat_hash_set<uint32_t> current;
  std::vector<std::string> entered;
  for (const auto& row : leaves->rows) {
    uint32_t oid = 0;
    if (!absl::SimpleAtoi(row[0].value_or(""), &oid)) continue;
    current.insert(oid);
    // New in the publication. A table that was there at the previous check (unpublished, or
    // unlogged) brings the rows it holds; one created since is left alone: its rows came
    // with it through the stream or with its statement (CREATE TABLE AS writes rows that
    // logical decoding does not send; replay runs the captured statement).
    if (!published_leaves_.has_value() || published_leaves_->contains(oid) ||
        !existing_tables_.contains(oid)) {
      continue;
    }
    const std::string name = row[1].value_or("");
    absl::StatusOr<std::optional<std::string>> has_rows = conn->QueryValue(
        absl::StrCat("SELECT EXISTS (SELECT 1 FROM ONLY ", name, ")"), {},
        absl::StrFormat("checking whether %s holds rows", name));
    if (!has_rows.ok()) {
      LogWarning("%s", has_rows.status().message());
      continue;
    }
    if (has_rows->value_or("f") == "t") entered.push_back(name);
  }
  published_leaves_ = std::move(current);
  existing_tables_.clear();
  for (const auto& row : tables->rows) {
    uint32_t oid = 0;
    if (absl::SimpleAtoi(row[0].value_or(""), &oid)) existing_tables_.insert(oid);
  }
  // They entered in a schema change since the previous check: at the earliest, the first
  // captured one's (or, without captured DDL, the previous check's position).
  Lsn since = first_ddl_lsn_.valid() ? first_ddl_lsn_ : checked_at_lsn_;
  int64_t since_us = first_ddl_lsn_.valid() ? first_ddl_time_us_ : checked_at_time_us_;
  checked_at_lsn_ = tracker_.last_handed();
  checked_at_time_us_ = last_handed_commit_time_us_;
  first_ddl_lsn_ = Lsn();
  if (entered.empty()) return;
  LogWarning("%s entered publication \"%s\" holding rows that no change event carries "
             "(ATTACH PARTITION, SET LOGGED or ALTER PUBLICATION ... ADD TABLE): taking a base "
             "so that restores from here on have them",
             absl::StrJoin(entered, ", "), options_.publication);
  options_.on_tables_entered(std::move(entered), since, since_us);
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
  CheckPublication(now);
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

void StreamLoop::NoteForPublicationCheck(const PgOutputMessage& message) {
  if (const auto* begin = std::get_if<BeginMessage>(&message)) {
    current_xid_ = begin->xid;
    current_commit_time_us_ = begin->commit_time_us;
  } else if (const auto* start = std::get_if<StreamStartMessage>(&message)) {
    current_xid_ = start->xid;
    current_commit_time_us_ = 0;  // known at its commit; the previous check's time stands
  } else if (const auto* logical = std::get_if<LogicalMessage>(&message)) {
    if (logical->prefix == "walship.ddl") {
      publication_check_due_ = true;
      ddl_xid_ = logical->xid.value_or(current_xid_);
      if (!first_ddl_lsn_.valid()) {
        first_ddl_lsn_ = logical->lsn;
        first_ddl_time_us_ =
            current_commit_time_us_ != 0 ? current_commit_time_us_ : checked_at_time_us_;
      }
    }
  }
}

absl::Status StreamLoop::HandOff(std::unique_ptr<proto::Transaction> txn) {
  const proto::TransactionInfo& info = txn->info();
  last_handed_commit_time_us_ = std::max(last_handed_commit_time_us_, info.commit_time_us);
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
  NoteForPublicationCheck(*decoded);
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
