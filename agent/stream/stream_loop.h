// The agent's replication loop: reads the replication stream, assembles transactions,
// hands them to every sink, and acknowledges to PostgreSQL only what all sinks made
// durable. Reconnects with backoff when the connection drops.
//
// One turn: poll sinks → update the flush position → stop if asked or --until-lsn reached
// → send a status update if due → read one message (or wait until the earliest deadline)
// → keepalive: note the server's position, answer at once if asked; XLogData: decode and
// hand completed transactions to the sinks.
#ifndef WALSHIP_AGENT_STREAM_STREAM_LOOP_H_
#define WALSHIP_AGENT_STREAM_STREAM_LOOP_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/base/lsn.h"
#include "agent/pg/pgoutput_decoder.h"
#include "agent/pg/replication_connection.h"
#include "agent/stream/feedback_tracker.h"
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
};

class StreamLoop {
 public:
  // `sinks` and `stop` must outlive the loop; `stop` is set by a signal handler.
  StreamLoop(StreamOptions options, std::vector<sinks::Sink*> sinks, Lsn confirmed,
             const std::atomic<bool>* stop);

  // Runs until stopped (OK), --until-lsn reached (OK), or a permanent error.
  // `conn` is an open replication connection (the loop takes it).
  absl::Status Run(std::unique_ptr<pg::ReplicationConnection> conn);

  Lsn flushed() const { return tracker_.flushed(); }

 private:
  // Streams over one connection until it drops (kUnavailable) or the loop ends.
  absl::Status StreamOnce(pg::ReplicationConnection& conn);
  absl::Status HandleXLogData(const pg::CopyMessage& message);
  absl::Status HandOff(std::unique_ptr<proto::Transaction> txn);
  // Polls the sinks and moves the flush position.
  absl::Status ServeSinks(absl::Time now);
  absl::Status SendStatus(pg::ReplicationConnection& conn, absl::Time now, bool reply);
  absl::Status FinishStream(pg::ReplicationConnection& conn);

  StreamOptions options_;
  std::vector<sinks::Sink*> sinks_;
  const std::atomic<bool>* stop_;
  FeedbackTracker tracker_;
  TransactionAssembler assembler_;
  PgOutputDecoder decoder_;
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_STREAM_LOOP_H_
