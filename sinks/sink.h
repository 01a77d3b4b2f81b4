// The interface every destination of the change stream implements (object stores, Kafka).
#ifndef WALSHIP_SINKS_SINK_H_
#define WALSHIP_SINKS_SINK_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "proto/transaction.h"

namespace walship::sinks {

// A sink receives whole committed transactions in commit order and reports a contiguous
// durable watermark: every transaction whose end LSN is <= DurableWatermark() is durable
// in this sink (an object uploaded and confirmed, a Kafka delivery report received), even
// when its own work completes out of order. The agent acknowledges to PostgreSQL only the
// minimum watermark over all sinks (contract 1).
//
// All methods are called from the agent's loop thread. A sink may do work on threads of
// its own. After any method returns an error the sink is broken: it keeps returning that
// error and its watermark no longer moves.
class Sink {
 public:
  virtual ~Sink() = default;

  // A short name for logs and metrics ("file:///var/lib/walship", "kafka").
  virtual std::string name() const = 0;

  // Takes the transaction (it may read its records now; it does not keep a reference).
  // May block briefly when the sink pushes back (see Backlogged()).
  virtual absl::Status Write(const proto::Transaction& txn) = 0;

  // The same, but the sink may keep the transaction (shared with the other sinks; its
  // records are never changed) and finish with it later on a thread of its own. The loop
  // hands transactions over this way; the default calls Write().
  virtual absl::Status WriteShared(std::shared_ptr<const proto::Transaction> txn) {
    return Write(*txn);
  }

  // Does due work (group commit deadline passed, delivery reports) without blocking long.
  virtual absl::Status Poll(absl::Time now) = 0;

  // When Poll() next has work to do (absl::InfiniteFuture() when nothing is pending).
  virtual absl::Time NextDeadline() const = 0;

  // Makes everything written durable, waiting at most until `deadline`
  // (kDeadlineExceeded when it could not).
  virtual absl::Status Flush(absl::Time deadline) = 0;

  // Every transaction with end LSN <= this is durable here. Lsn::Invalid() before any.
  virtual Lsn DurableWatermark() const = 0;

  // True while something written is not yet durable.
  virtual bool HasPending() const = 0;

  // True while the sink holds more undelivered data than its memory bound. The loop then
  // hands it nothing more and stops reading the stream, but keeps polling the sinks and
  // sending status updates (so the server's wal_sender_timeout does not end the
  // connection), until it is false again.
  virtual bool Backlogged() const { return false; }

  // Flushes and releases resources; no other call after it.
  virtual absl::Status Close(absl::Time deadline) = 0;
};

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_SINK_H_
