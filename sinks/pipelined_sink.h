// PipelinedSink: runs another sink on a thread of its own, so that the agent's loop thread
// hands a transaction over and goes back to decoding while the inner sink encodes and sends
// it (the Kafka sink: serializing every event, headers, keys and librdkafka's enqueueing,
// about as much work per row as decoding it).
//
//   std::unique_ptr<Sink> kafka = ...;                 // OpenKafkaSink(...)
//   std::unique_ptr<Sink> sink = MakePipelined(std::move(kafka));
//
// Every call of the inner sink happens on the worker thread, one at a time and in order
// (Write for each transaction in commit order, Poll when its deadline comes, Flush and
// Close when asked), so the inner sink needs no locking. The worker keeps the transactions
// it has not written yet (shared with the other sinks, see Sink::WriteShared). The outer
// sink reports the inner one's watermark, pending state and first error as the worker last
// saw them. Flush waits for the queue to be written, then for the inner Flush. Back-pressure:
// WriteShared waits, briefly, while `max_queued` transactions are queued, and Backlogged() is true
// while the inner sink is backlogged or the queued transactions hold more than
// `max_queued_bytes` (TransactionInfo::memory_bytes).
#ifndef WALSHIP_SINKS_PIPELINED_SINK_H_
#define WALSHIP_SINKS_PIPELINED_SINK_H_

#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "sinks/sink.h"

namespace walship::sinks {

struct PipelineOptions {
  size_t max_queued = 256;
  uint64_t max_queued_bytes = 64 << 20;
  // The longest WriteShared waits for room in the queue before it queues anyway (the byte bound
  // and Backlogged() still hold memory).
  absl::Duration max_write_wait = absl::Milliseconds(100);
  // While the inner sink has something pending, the outer one asks to be polled this often,
  // so the loop sees the watermark move.
  absl::Duration poll_interval = absl::Milliseconds(10);
};

std::unique_ptr<Sink> MakePipelined(std::unique_ptr<Sink> inner, PipelineOptions options = {});

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_PIPELINED_SINK_H_
