// Decides what the agent may acknowledge to PostgreSQL and when to send status updates.
// Pure: no I/O, no clock of its own (times are passed in), so every decision is testable.
//
// The flush position only moves to the end LSN of a transaction once it and every earlier
// transaction handed to the sinks is durable in all of them (contract 1). With nothing in
// flight and no transaction open, a keepalive's position (everything the server has
// decoded and sent) may be confirmed, so an idle database does not retain WAL forever.
#ifndef WALSHIP_AGENT_STREAM_FEEDBACK_TRACKER_H_
#define WALSHIP_AGENT_STREAM_FEEDBACK_TRACKER_H_

#include <deque>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"

namespace walship::agent {

class FeedbackTracker {
 public:
  // `confirmed` is the slot's confirmed position at start.
  FeedbackTracker(Lsn confirmed, absl::Duration status_interval,
                  absl::Duration min_status_gap = absl::Milliseconds(10));

  // A message was received whose WAL record starts at `lsn`.
  void OnReceived(Lsn lsn);
  // A committed transaction was handed to the sinks (`empty`: it had no events and waits
  // only for the transactions before it).
  void OnTransaction(Lsn end_lsn, bool empty);
  // The minimum durable watermark over all sinks.
  void OnDurable(Lsn watermark);
  // A keepalive reporting the server's sent position; `in_transaction` when a Begin has no
  // Commit yet.
  void OnKeepalive(Lsn wal_end, bool in_transaction);

  // Positions past the stored changes (keepalives, empty transactions) are confirmed only
  // up to `limit` (Lsn::Max() by default: no limit).
  void SetIdleLimit(Lsn limit);
  // The newest such position not yet allowed by the limit; Invalid when none.
  Lsn PendingIdle() const { return pending_idle_ > idle_limit_ ? pending_idle_ : Lsn(); }

  Lsn flushed() const { return flushed_; }
  // The position reported as written: what was received, never below what is flushed.
  Lsn written() const { return received_ > flushed_ ? received_ : flushed_; }
  bool HasInFlight() const { return !in_flight_.empty(); }
  // Newest transaction end handed to the sinks, Invalid before any.
  Lsn last_handed() const { return last_handed_; }

  void SetStatusInterval(absl::Duration interval) { status_interval_ = interval; }
  absl::Duration status_interval() const { return status_interval_; }

  // True when a status update should go out now.
  bool StatusDue(absl::Time now) const;
  absl::Time NextStatusDeadline() const;
  void OnStatusSent(absl::Time now);

 private:
  struct InFlight {
    Lsn end_lsn;
    bool empty;
  };

  void OnIdlePosition(Lsn lsn);

  absl::Duration status_interval_;
  absl::Duration min_status_gap_;
  Lsn flushed_;
  Lsn received_;
  Lsn last_handed_;
  Lsn durable_;
  Lsn last_sent_flushed_;
  absl::Time last_sent_ = absl::InfinitePast();
  std::deque<InFlight> in_flight_;
  Lsn idle_limit_ = Lsn::Max();
  Lsn pending_idle_;
};

// A PostgreSQL duration setting as SHOW prints it ("60s", "500ms", "1min", "0"; a bare
// number is milliseconds) parsed; an error names the text.
absl::StatusOr<absl::Duration> ParsePgDuration(absl::string_view text);

// The status interval to use against a server whose wal_sender_timeout is `sender_timeout`
// (zero: none): the configured one, shortened to a third of the timeout (at least 100 ms) so
// that status updates alone, sent while the loop reads nothing (push-back), keep the
// connection.
absl::Duration StatusIntervalFor(absl::Duration configured, absl::Duration sender_timeout);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_FEEDBACK_TRACKER_H_
