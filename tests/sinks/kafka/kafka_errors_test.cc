// Tests of the mapping from librdkafka errors to status codes.
#include "sinks/kafka/kafka_errors.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::sinks::kafka {
namespace {

using ::testing::HasSubstr;

TEST(KafkaErrors, CodesFollowWhatTheCallerMustDo) {
  struct Case {
    rd_kafka_resp_err_t err;
    absl::StatusCode code;
  } cases[] = {
      {RD_KAFKA_RESP_ERR__FATAL, absl::StatusCode::kAborted},
      {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, absl::StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, absl::StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, absl::StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, absl::StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, absl::StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, absl::StatusCode::kUnavailable},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DeliveryError(c.err, "t").code(), c.code) << rd_kafka_err2name(c.err);
  }
}

TEST(KafkaErrors, MessageNamesTopicAndLibrdkafkaReason) {
  absl::Status status =
      DeliveryError(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "crm.public.deals");
  EXPECT_THAT(status.message(), HasSubstr("\"crm.public.deals\""));
  EXPECT_THAT(status.message(), HasSubstr("TOPIC_AUTHORIZATION_FAILED"));
  EXPECT_THAT(status.message(),
              HasSubstr(rd_kafka_err2str(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)));
}

}  // namespace
}  // namespace walship::sinks::kafka
