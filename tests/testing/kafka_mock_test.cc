// Tests for KafkaMockCluster and the walship_mockcluster helper, checked with kcat, an
// independent Kafka client.
#include "tests/testing/kafka_mock.h"

#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<SubprocessResult> Kcat(std::vector<std::string> args) {
  args.insert(args.begin(), "kcat");
  return Subprocess::Run(args, absl::Seconds(60));
}

TEST(KafkaMockCluster, KcatSeesThreeBrokersAndTheTopic) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3, {"crm.deals:3:3"}));
  std::vector<std::string> servers = absl::StrSplit(kafka->bootstrap(), ',');
  EXPECT_EQ(servers.size(), 3u);
  for (const std::string& server : servers) EXPECT_THAT(server, HasSubstr("127.0.0.1:"));

  ASSERT_OK_AND_ASSIGN(SubprocessResult meta, Kcat({"-b", kafka->bootstrap(), "-L"}));
  ASSERT_TRUE(meta.ok()) << meta.stderr_text;
  EXPECT_THAT(meta.stdout_text, HasSubstr("3 brokers:"));
  EXPECT_THAT(meta.stdout_text, HasSubstr("topic \"crm.deals\" with 3 partitions"));
}

TEST(KafkaMockCluster, ProducedMessagesCanBeConsumed) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(1, {"t1:1:1"}));
  ASSERT_OK_AND_ASSIGN(
      SubprocessResult produce,
      Subprocess::Run({"kcat", "-b", kafka->bootstrap(), "-P", "-t", "t1"}, absl::Seconds(60), {},
                      "alpha\nbeta\n"));
  ASSERT_TRUE(produce.ok()) << produce.stderr_text;
  ASSERT_OK_AND_ASSIGN(SubprocessResult consume,
                       Kcat({"-b", kafka->bootstrap(), "-C", "-t", "t1", "-o", "beginning", "-e",
                             "-q"}));
  ASSERT_TRUE(consume.ok()) << consume.stderr_text;
  EXPECT_EQ(consume.stdout_text, "alpha\nbeta\n");
}

TEST(KafkaMockCluster, AnswersControlCommands) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  auto rc_of = [&kafka](absl::string_view line) {
    absl::StatusOr<int> rc = kafka->Command(line);
    return rc.ok() ? *rc : -1000;
  };
  EXPECT_EQ(rc_of("topic t2 2 3"), 0);
  EXPECT_EQ(rc_of("leader t2 0 2"), 0);
  EXPECT_EQ(rc_of("down 1"), 0);
  EXPECT_EQ(rc_of("up 1"), 0);
  EXPECT_EQ(rc_of("rtt 2 50"), 0);
  EXPECT_EQ(rc_of("err 0 6 6"), 0);
  EXPECT_EQ(rc_of("clear 0"), 0);
  // Errors of the cluster come back as its error code, not as a parse error.
  EXPECT_EQ(rc_of("leader t2 99 1"), 3);  // UNKNOWN_TOPIC_OR_PART
  EXPECT_EQ(rc_of("down 7"), 8);          // BROKER_NOT_AVAILABLE
  EXPECT_THAT(kafka->Command("explode now"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(kafka->Command("down one"), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(SubprocessResult meta, Kcat({"-b", kafka->bootstrap(), "-L", "-t", "t2"}));
  EXPECT_THAT(meta.stdout_text, HasSubstr("partition 0, leader 2"));
}

TEST(KafkaMockCluster, StopsGracefullyOnSigterm) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(1));
  EXPECT_OK(kafka->Stop());
}

TEST(KafkaMockCluster, RejectsABadTopicSpec) {
  EXPECT_THAT(KafkaMockCluster::Start(1, {"no-partitions"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("exit 2")));
}

}  // namespace
}  // namespace walship::testing
