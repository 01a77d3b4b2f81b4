// Maps librdkafka errors to walship's status codes (by what the caller must do) with a
// message naming the topic, librdkafka's reason and the fix.
#ifndef WALSHIP_SINKS_KAFKA_KAFKA_ERRORS_H_
#define WALSHIP_SINKS_KAFKA_KAFKA_ERRORS_H_

#include <librdkafka/rdkafka.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace walship::sinks::kafka {

// A message of `topic` could not be produced or delivered (librdkafka already retried
// transient errors until message.timeout.ms):
//   kAborted: a fatal producer error (idempotence broken) -> rebuild the producer;
//   kFailedPrecondition: permanent (message too large, topic authorization failed, unknown
//     topic, invalid topic name) -> stop and tell the operator;
//   kUnavailable: anything else (timed out while brokers were unreachable) -> restart the
//     stream from the durable position.
absl::Status DeliveryError(rd_kafka_resp_err_t err, absl::string_view topic);

}  // namespace walship::sinks::kafka

#endif  // WALSHIP_SINKS_KAFKA_KAFKA_ERRORS_H_
