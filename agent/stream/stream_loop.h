// The agent's replication loop: reads the replication stream, assembles transactions,
// hands them to every sink, and acknowledges to PostgreSQL only what all sinks made
// durable. Reconnects with backoff when the connection drops.
//
// One turn: poll sinks → update the flush position → stop if asked or --until-lsn reached
// → send a status update if due → while a sink is backlogged, wait and turn again → read
// one message (or wait until the earliest deadline)
// → keepalive: note the server's position, answer at once if asked; XLogData: decode and
// hand completed transactions to the sinks.
#ifndef WALSHIP_AGENT_STREAM_STREAM_LOOP_H_
#define WALSHIP_AGENT_STREAM_STREAM_LOOP_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/status/statusor.h"
#include "proto/core/clock.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/pgoutput_decoder.h"
#include "agent/pg/replication_session.h"
#include "agent/stream/feedback_tracker.h"
#include "agent/stream/publication_watcher.h"
#include "agent/stream/stream_probe.h"
#include "agent/stream/sequence_recorder.h"
#include "agent/stream/transaction_assembler.h"
#include "sinks/sink.h"

namespace walship::agent {

struct StreamOptions {
  std::string conninfo;
  std::string slot;
  std::string publication;
  std::string system_id;  // a reconnect to another system is refused
  // Stop (exit 0) once everything up to this LSN is durable and acknowledged.
  Lsn until_lsn;
  std::string spill_dir;
  uint64_t memory_limit_per_transaction = 8ull << 20;
  absl::Duration status_interval = absl::Seconds(10);
  absl::Duration reconnect_min = absl::Milliseconds(500);
  absl::Duration reconnect_max = absl::Seconds(30);
  absl::Duration shutdown_flush_timeout = absl::Seconds(60);
  // When non-zero, emit a non-transactional logical message this often while nothing is
  // pending, so the slot keeps moving when the published tables are idle but other
  // databases write (the message itself is not stored).
  absl::Duration heartbeat_interval = absl::ZeroDuration();
  // Called at most this often while nothing is pending (idle and healthy), with the
  // acknowledged position and the server's WAL end; the agent writes a heartbeat object
  // (off the loop's thread: the call must return at once).
  absl::Duration idle_report_interval = absl::Minutes(1);
  std::function<void(absl::Time now, Lsn acknowledged, Lsn server_wal_end)> on_idle;
  // When set, positions past the stored changes (idle keepalives, empty transactions) are
  // confirmed only as far as `vouched()` says: `on_vouch` asks for a heartbeat saying the
  // stores hold everything up to `position` (at most every vouch_interval), written off the
  // loop's thread so that a slow store never stalls it; `vouched()` returns the newest
  // position such a heartbeat reached every store with (Invalid: none yet).
  std::function<void(absl::Time now, Lsn position, Lsn server_wal_end)> on_vouch;
  std::function<Lsn()> vouched;
  absl::Duration vouch_interval = absl::Seconds(10);
  // How often the slot's retained WAL is read for the metrics (0: never).
  absl::Duration slot_stats_interval = absl::Seconds(15);
  // Free-standing sequences are recorded (when their values changed) after the flush
  // position moved, at most this often, and at least this often otherwise (0: never).
  absl::Duration sequence_min_interval = absl::Seconds(1);
  absl::Duration sequence_interval = absl::Seconds(10);
  // Tables that enter the publication with rows no change event carries (ATTACH PARTITION
  // of a filled table, SET LOGGED, ALTER PUBLICATION ... ADD TABLE): the publication's leaf
  // tables are read after every transaction that carries captured DDL, and at least this
  // often; a new one that existed at the previous check and holds rows is reported
  // ("schema.table", and where the entry came at the earliest: the first captured DDL since
  // the previous check, or that check's position, with a commit time). Empty: not checked.
  std::function<void(std::vector<std::string> tables, Lsn noticed_at, int64_t commit_time_us)>
      on_tables_entered;
  absl::Duration publication_check_interval = absl::Seconds(60);
  // Opens the ordinary session of the side work (heartbeat messages, sequence recordings,
  // slot statistics) and each publication check's own; empty: a libpq PgConnection to
  // `conninfo`.
  pg::SessionFactory connect_side;
  // Opens a new replication session after the connection dropped; empty: a libpq
  // ReplicationConnection to `conninfo`.
  std::function<absl::StatusOr<std::unique_ptr<pg::ReplicationSession>>()> reconnect;
};

class StreamLoop {
 public:
  // `sinks`, `stop`, `probe` and `clock` must outlive the loop; `stop` is set by a signal
  // handler.
  StreamLoop(StreamOptions options, std::vector<sinks::Sink*> sinks, Lsn confirmed,
             const std::atomic<bool>* stop, StreamProbe& probe, Clock& clock = SystemClock());

  // Runs until stopped (OK), --until-lsn reached (OK), or a permanent error.
  // `conn` is an open replication session (the loop takes it).
  absl::Status Run(std::unique_ptr<pg::ReplicationSession> conn);

  Lsn flushed() const { return tracker_.flushed(); }

 private:
  // Streams over one connection until it drops (kUnavailable) or the loop ends.
  absl::Status StreamOnce(pg::ReplicationSession& conn);
  // Sets the status interval from the server's wal_sender_timeout.
  void AdoptSenderTimeout(pg::ReplicationSession& conn);
  // The --until-lsn checks of one turn: OK with `done` set when the loop should end.
  absl::Status CheckUntil(pg::ReplicationSession& conn, bool* done);
  // Whether a sink pushes back (then the turn waits instead of reading).
  bool WaitWhileBacklogged(absl::Time now);
  // Waits `wait` while serving the sinks, then tries once: a new session (nullptr: try
  // again after `next_backoff`), or an error that ends the loop. `finished` is set when a
  // stop request ended the wait (sinks flushed).
  absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> Reconnect(
      absl::Duration wait, absl::Duration next_backoff, bool* finished);
  absl::Status HandleKeepalive(pg::ReplicationSession& conn, const pg::CopyMessage& message);
  absl::Status HandleXLogData(const pg::CopyMessage& message);
  absl::Status HandOff(std::unique_ptr<proto::Transaction> txn);
  // Polls the sinks and moves the flush position.
  absl::Status ServeSinks(absl::Time now);
  absl::Status SendStatus(pg::ReplicationSession& conn, absl::Time now, bool reply);
  absl::Status FinishStream(pg::ReplicationSession& conn);
  // Periodic side work over a normal connection: heartbeat messages, sequence recordings,
  // slot statistics and the idle report. Failures are logged, never fatal.
  void SideWork(absl::Time now);
  void SendHeartbeatMessage(bool idle);
  void ReadSlotStats();
  // Records the free-standing sequences when due (`force`: a heartbeat is being sent).
  void RecordSequences(absl::Time now, bool force);
  pg::Session* SideConnection();

  StreamOptions options_;
  std::vector<sinks::Sink*> sinks_;
  const std::atomic<bool>* stop_;
  StreamProbe& probe_;
  Clock& clock_;
  FeedbackTracker tracker_;
  TransactionAssembler assembler_;
  PgOutputDecoder decoder_;
  PublicationWatcher publication_;
  std::unique_ptr<pg::Session> side_conn_;
  absl::Time next_heartbeat_ = absl::InfinitePast();
  absl::Time next_slot_stats_ = absl::InfinitePast();
  absl::Time next_idle_report_ = absl::InfinitePast();
  absl::Time next_vouch_ = absl::InfinitePast();
  Lsn vouched_;  // the newest position the stores vouch for
  const Lsn start_confirmed_;  // the slot's position at start
  SequenceRecorder sequences_;
  Lsn sequences_flushed_;  // the flush position at the last sequence check
  absl::Time next_sequence_check_ = absl::InfinitePast();
  absl::Time next_sequence_poll_ = absl::InfinitePast();
  bool sequence_warned_ = false;
  Lsn server_wal_end_;
  // Since when a sink has been over its memory bound (InfiniteFuture: none is).
  absl::Time backlogged_since_ = absl::InfiniteFuture();
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_STREAM_LOOP_H_
