// The Kafka sink against the mock Kafka cluster when things go wrong: a broker outage, a
// message over the size limit, a topic it may not write, a fatal idempotence error, a small
// buffer, an unreachable bootstrap and bad settings.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/kafka/kafka_sink.h"
#include "tests/integration/kafka_sink_test_util.h"
#include "tests/testing/kafka_mock.h"
#include "tests/testing/kcat.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using sinks::KafkaSinkOptions;
using sinks::OpenKafkaSink;
using sinks::Sink;
using ::testing::HasSubstr;

TEST(KafkaSinkIntegration, BrokerOutageHoldsWatermarkAndLosesNothing) {
  ASSERT_OK_AND_ASSIGN(
      auto kafka, KafkaMockCluster::Start(3, {"crm.public.deals:3:3", "crm.transactions:3:3"}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(Options(*kafka)));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  int next_id = 0;
  auto write = [&](uint32_t xid, uint64_t lsn) {
    TxnBuilder b(xid, lsn);
    for (int i = 0; i < 20; ++i) b.Insert(deals, absl::StrCat(++next_id), "row");
    proto::InMemoryTransaction txn = b.Build();
    return sink->Write(txn);
  };
  ASSERT_OK(write(800, 0x10000));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();
  ASSERT_EQ(before, Lsn(0x10030));

  for (int id = 1; id <= 3; ++id) {
    auto rc = kafka->Command(absl::StrCat("down ", id));
    ASSERT_OK(rc.status());
    ASSERT_EQ(*rc, 0);
  }
  for (int i = 1; i <= 10; ++i) ASSERT_OK(write(800 + i, 0x10000 + i * 0x1000));
  absl::Time until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    ASSERT_OK(sink->Poll(absl::Now()));
    EXPECT_EQ(sink->DurableWatermark(), before) << "watermark moved while every broker was down";
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(sink->HasPending());
  EXPECT_LT(sink->NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(sink->Flush(absl::Now() + absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(sink->DurableWatermark(), before);

  for (int id = 1; id <= 3; ++id) {
    auto rc = kafka->Command(absl::StrCat("up ", id));
    ASSERT_OK(rc.status());
    ASSERT_EQ(*rc, 0);
  }
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(45)));
  EXPECT_EQ(sink->DurableWatermark(), Lsn(0x10000 + 10 * 0x1000 + 0x30));
  EXPECT_FALSE(sink->HasPending());

  // Count what the brokers hold, with kcat: every row once.
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> messages,
                       KcatConsume(kafka->bootstrap(), "crm.public.deals"));
  std::set<std::string> positions;
  for (const ConsumedMessage& m : messages) {
    v1::Event event;
    ASSERT_TRUE(event.ParseFromString(m.value.value_or("")));
    positions.insert(absl::StrFormat("%016X:%u", event.commit_lsn(), event.sequence()));
  }
  EXPECT_EQ(messages.size(), 11u * 20u);
  EXPECT_EQ(positions.size(), 11u * 20u);
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> markers,
                       KcatConsume(kafka->bootstrap(), "crm.transactions"));
  EXPECT_EQ(markers.size(), 22u);
  ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(10)));
}

TEST(KafkaSinkIntegration, MessageLargerThanMaxBytesIsStickyAndNotAcknowledged) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  KafkaSinkOptions options = Options(*kafka);
  options.settings = {"message.max.bytes=10000"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  TxnBuilder small(900, 0x5000);
  small.Insert(deals, "1", "small");
  ASSERT_OK(sink->Write(small.Build()));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();
  EXPECT_EQ(before, Lsn(0x5030));

  TxnBuilder big(901, 0x6000);
  big.Insert(deals, "2", std::string(20000, 'y'));
  absl::Status status = sink->Write(big.Build());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(status.message(), HasSubstr("\"crm.public.deals\""));
  EXPECT_THAT(status.message(), HasSubstr("MSG_SIZE_TOO_LARGE"));
  // Sticky: every later call returns it, the watermark stays.
  EXPECT_EQ(sink->Poll(absl::Now()), status);
  EXPECT_EQ(sink->Flush(absl::Now() + absl::Seconds(5)), status);
  TxnBuilder after(902, 0x7000);
  after.Insert(deals, "3", "small");
  EXPECT_EQ(sink->Write(after.Build()), status);
  EXPECT_EQ(sink->DurableWatermark(), before);
  EXPECT_EQ(sink->Close(absl::Now() + absl::Seconds(5)), status);
}

TEST(KafkaSinkIntegration, TopicAuthorizationFailureIsClearAndNotAcknowledged) {
  ASSERT_OK_AND_ASSIGN(
      auto kafka, KafkaMockCluster::Start(3, {"crm.public.deals:1:3", "crm.transactions:1:3"}));
  KafkaSinkOptions options = Options(*kafka);
  // The mock acknowledges failed batches falsely with several requests in flight.
  options.settings = {"max.in.flight.requests.per.connection=1"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  TxnBuilder first(950, 0x8000);
  first.Insert(deals, "1", "ok");
  ASSERT_OK(sink->Write(first.Build()));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();

  ASSERT_OK_AND_ASSIGN(int rc, kafka->Command("err 0 29 29 29 29 29 29 29 29"));
  EXPECT_EQ(rc, 0);
  TxnBuilder second(951, 0x9000);
  second.Insert(deals, "2", "denied");
  absl::Status status = sink->Write(second.Build());
  if (status.ok()) status = sink->Flush(absl::Now() + absl::Seconds(30));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(status.message(), HasSubstr("TOPIC_AUTHORIZATION_FAILED"));
  EXPECT_THAT(status.message(), ::testing::AnyOf(HasSubstr("\"crm.public.deals\""),
                                                 HasSubstr("\"crm.transactions\"")));
  EXPECT_EQ(sink->DurableWatermark(), before);
  EXPECT_EQ(sink->Poll(absl::Now()), status);
}

TEST(KafkaSinkIntegration, FatalIdempotenceErrorIsAborted) {
  ASSERT_OK_AND_ASSIGN(
      auto kafka, KafkaMockCluster::Start(3, {"crm.public.deals:1:3", "crm.transactions:1:3"}));
  KafkaSinkOptions options = Options(*kafka);
  options.settings = {"max.in.flight.requests.per.connection=1"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  TxnBuilder first(960, 0xA000);
  first.Insert(deals, "1", "ok");
  ASSERT_OK(sink->Write(first.Build()));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();

  // OUT_OF_ORDER_SEQUENCE_NUMBER: the idempotent producer can no longer keep order.
  ASSERT_OK_AND_ASSIGN(int rc, kafka->Command("err 0 45"));
  EXPECT_EQ(rc, 0);
  TxnBuilder second(961, 0xB000);
  second.Insert(deals, "2", "lost order");
  absl::Status status = sink->Write(second.Build());
  if (status.ok()) status = sink->Flush(absl::Now() + absl::Seconds(30));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(status.message(), HasSubstr("fatal"));
  EXPECT_EQ(sink->DurableWatermark(), before);
  EXPECT_EQ(sink->Poll(absl::Now()), status);
}

TEST(KafkaSinkIntegration, SmallBufferBoundStillDeliversEverything) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  KafkaSinkOptions options = Options(*kafka);
  options.max_buffered_bytes = 1;  // every message waits for the one before it
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  for (int t = 0; t < 5; ++t) {
    TxnBuilder b(970 + t, 0xC000 + t * 0x100);
    for (int i = 0; i < 4; ++i) b.Insert(deals, absl::StrCat(t * 10 + i), "row");
    ASSERT_OK(sink->Write(b.Build()));
    // Write() waited for each earlier message before producing the next, so the
    // transaction before this one is durable already.
    if (t > 0) {
      EXPECT_GE(sink->DurableWatermark(), Lsn(0xC000 + (t - 1) * 0x100 + 0x30));
    }
  }
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  EXPECT_EQ(sink->DurableWatermark(), Lsn(0xC000 + 4 * 0x100 + 0x30));
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> messages,
                       KcatConsume(kafka->bootstrap(), "crm.public.deals"));
  EXPECT_EQ(messages.size(), 20u);
}

TEST(KafkaSinkIntegration, UnreachableBootstrapIsUnavailable) {
  KafkaSinkOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.topic_prefix = "crm";
  options.connect_timeout = absl::Seconds(2);
  auto sink = OpenKafkaSink(options);
  EXPECT_THAT(sink.status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sink.status().message(), HasSubstr("127.0.0.1:1"));
}

TEST(KafkaSinkIntegration, BadSettingsAreRefusedBeforeConnecting) {
  KafkaSinkOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.topic_prefix = "crm";
  options.settings = {"no.such.setting=1"};
  EXPECT_THAT(OpenKafkaSink(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  options.settings = {"sasl.password=hunter2"};
  auto secret = OpenKafkaSink(options);
  EXPECT_THAT(secret.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(secret.status().message(), ::testing::Not(HasSubstr("hunter2")));
  options.settings = {};
  options.properties_file = "/nonexistent/kafka.properties";
  EXPECT_THAT(OpenKafkaSink(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}


}  // namespace
}  // namespace walship::testing
