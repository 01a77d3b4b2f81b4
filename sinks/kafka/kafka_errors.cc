// librdkafka error codes to absl::Status for the Kafka sink.
#include "sinks/kafka/kafka_errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace walship::sinks::kafka {

absl::Status DeliveryError(rd_kafka_resp_err_t err, absl::string_view topic) {
  std::string what = absl::StrFormat("kafka: producing to topic \"%s\" failed: %s (%s)", topic,
                                     rd_kafka_err2str(err), rd_kafka_err2name(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__FATAL:
      return absl::AbortedError(
          absl::StrCat(what, "; the producer must be rebuilt from the last durable position"));
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
      return absl::FailedPreconditionError(absl::StrCat(
          what, "; raise message.max.bytes (--kafka-config) and the topic's max.message.bytes"));
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      return absl::FailedPreconditionError(
          absl::StrCat(what, "; grant the producer write access to the topic"));
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return absl::FailedPreconditionError(absl::StrCat(
          what, "; create the topic or enable auto-creation of topics on the cluster"));
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
      return absl::FailedPreconditionError(
          absl::StrCat(what, "; check the topic prefix and the cluster's settings"));
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
      return absl::UnavailableError(
          absl::StrCat(what,
                       "; brokers were unreachable or partitions leaderless for longer than "
                       "message.timeout.ms"));
    default:
      return absl::UnavailableError(absl::StrCat(what, "; restart from the last durable position"));
  }
}

}  // namespace walship::sinks::kafka
