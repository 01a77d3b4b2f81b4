// Acknowledgement bookkeeping.
#include "agent/stream/feedback_tracker.h"

#include <algorithm>

namespace walship::agent {

FeedbackTracker::FeedbackTracker(Lsn confirmed, absl::Duration status_interval,
                                 absl::Duration min_status_gap)
    : status_interval_(status_interval),
      min_status_gap_(min_status_gap),
      flushed_(confirmed),
      received_(confirmed),
      last_handed_(confirmed),
      last_sent_flushed_(confirmed) {}

void FeedbackTracker::OnReceived(Lsn lsn) { received_ = std::max(received_, lsn); }

void FeedbackTracker::OnTransaction(Lsn end_lsn, bool empty) {
  last_handed_ = std::max(last_handed_, end_lsn);
  in_flight_.push_back({end_lsn, empty});
  OnDurable(durable_);
}

void FeedbackTracker::OnDurable(Lsn watermark) {
  durable_ = std::max(durable_, watermark);
  while (!in_flight_.empty() &&
         (in_flight_.front().empty || in_flight_.front().end_lsn <= durable_)) {
    if (in_flight_.front().empty) {
      OnIdlePosition(in_flight_.front().end_lsn);
    } else {
      flushed_ = std::max(flushed_, in_flight_.front().end_lsn);
    }
    in_flight_.pop_front();
  }
}

void FeedbackTracker::OnKeepalive(Lsn wal_end, bool in_transaction) {
  if (in_flight_.empty() && !in_transaction) OnIdlePosition(wal_end);
}

void FeedbackTracker::OnIdlePosition(Lsn lsn) {
  pending_idle_ = std::max(pending_idle_, lsn);
  flushed_ = std::max(flushed_, std::min(lsn, idle_limit_));
}

void FeedbackTracker::SetIdleLimit(Lsn limit) {
  idle_limit_ = limit;
  flushed_ = std::max(flushed_, std::min(pending_idle_, idle_limit_));
}

bool FeedbackTracker::StatusDue(absl::Time now) const {
  if (now - last_sent_ >= status_interval_) return true;
  return flushed_ > last_sent_flushed_ && now - last_sent_ >= min_status_gap_;
}

absl::Time FeedbackTracker::NextStatusDeadline() const {
  if (flushed_ > last_sent_flushed_) return last_sent_ + min_status_gap_;
  return last_sent_ + status_interval_;
}

void FeedbackTracker::OnStatusSent(absl::Time now) {
  last_sent_ = now;
  last_sent_flushed_ = flushed_;
}

}  // namespace walship::agent
