// DeliveryTracker: per-transaction delivery counts and the contiguous watermark.
#include "sinks/kafka/delivery_tracker.h"

namespace walship::sinks::kafka {

DeliveryTracker::Ticket DeliveryTracker::Begin(Lsn end_lsn) {
  entries_.push_back(Entry{end_lsn});
  return first_ticket_ + entries_.size() - 1;
}

DeliveryTracker::Entry* DeliveryTracker::Find(Ticket ticket) {
  if (ticket < first_ticket_ || ticket - first_ticket_ >= entries_.size()) return nullptr;
  return &entries_[ticket - first_ticket_];
}

void DeliveryTracker::AddMessage(Ticket ticket) {
  if (Entry* entry = Find(ticket)) {
    ++entry->outstanding;
    ++outstanding_;
  }
}

void DeliveryTracker::Seal(Ticket ticket) {
  if (Entry* entry = Find(ticket)) entry->sealed = true;
  Advance();
}

void DeliveryTracker::Delivered(Ticket ticket, bool ok) {
  Entry* entry = Find(ticket);
  if (entry == nullptr || entry->outstanding == 0) return;
  --entry->outstanding;
  --outstanding_;
  if (!ok) entry->failed = true;
  Advance();
}

void DeliveryTracker::Advance() {
  while (!entries_.empty()) {
    const Entry& front = entries_.front();
    if (!front.sealed || front.outstanding > 0 || front.failed) return;
    watermark_ = front.end_lsn;
    entries_.pop_front();
    ++first_ticket_;
  }
}

}  // namespace walship::sinks::kafka
