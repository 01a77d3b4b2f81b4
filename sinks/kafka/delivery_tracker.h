// DeliveryTracker: the Kafka sink's contiguous durable watermark. Each transaction gets a
// ticket; every message produced for it is counted, and every delivery report settles one.
// A transaction is durable when it is sealed (all its messages were produced) and all of
// them were delivered without error; the watermark is the end LSN of the last transaction
// such that it and every transaction before it are durable, even when reports arrive out
// of order. A failed delivery pins the watermark below that transaction for good.
//
// Pure bookkeeping, no librdkafka. Not thread-safe (the sink uses it from the thread that
// polls the producer).
#ifndef WALSHIP_SINKS_KAFKA_DELIVERY_TRACKER_H_
#define WALSHIP_SINKS_KAFKA_DELIVERY_TRACKER_H_

#include <cstdint>
#include <deque>

#include "proto/core/lsn.h"

namespace walship::sinks::kafka {

class DeliveryTracker {
 public:
  using Ticket = uint64_t;

  // Starts tracking a transaction; transactions must begin in commit order.
  Ticket Begin(Lsn end_lsn);
  // One more message of `ticket` was handed to the producer.
  void AddMessage(Ticket ticket);
  // Every message of `ticket` has been produced.
  void Seal(Ticket ticket);
  // A delivery report for one message of `ticket`.
  void Delivered(Ticket ticket, bool ok);

  Lsn watermark() const { return watermark_; }
  // Messages produced and not yet reported.
  uint64_t outstanding() const { return outstanding_; }
  // Some transaction begun is not yet durable.
  bool HasPending() const { return !entries_.empty(); }

 private:
  struct Entry {
    Lsn end_lsn;
    uint64_t outstanding = 0;
    bool sealed = false;
    bool failed = false;
  };
  Entry* Find(Ticket ticket);
  void Advance();

  std::deque<Entry> entries_;  // entries_[i] has ticket first_ticket_ + i
  Ticket first_ticket_ = 0;
  uint64_t outstanding_ = 0;
  Lsn watermark_ = Lsn::Invalid();
};

}  // namespace walship::sinks::kafka

#endif  // WALSHIP_SINKS_KAFKA_DELIVERY_TRACKER_H_
