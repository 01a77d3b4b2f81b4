// MetricsServer over real HTTP: /metrics scraped with curl and linted by `promtool check
// metrics`, /healthz answering 200 or 503 by the agent's state and progress, and clear
// errors for a malformed or busy listen address.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/metrics/metrics_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/http_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using walship::testing::HttpGet;
using walship::testing::HttpReply;
using walship::testing::PromtoolCheckMetrics;
using walship::testing::Subprocess;
using walship::testing::SubprocessResult;

class MetricsServerTest : public ::testing::Test {
 protected:
  MetricsServerTest() : metrics_(registry_, "", clock_) {}

  void StartServer(absl::Duration stall_threshold = absl::Seconds(60)) {
    MetricsServerOptions options;
    options.listen = "127.0.0.1:0";
    options.stall_threshold = stall_threshold;
    absl::StatusOr<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start(options, registry_, metrics_);
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
  }

  ::walship::testing::FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  prometheus::Registry registry_;
  AgentMetrics metrics_;
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, ServesMetricsThatPromtoolAccepts) {
  StartServer();
  EXPECT_EQ(server_->address(), absl::StrCat("127.0.0.1:", server_->port()));
  const absl::Time server0 = absl::FromUnixSeconds(1'800'000'000);
  metrics_.SetState(AgentState::kStreaming);
  metrics_.OnServerMessage(Lsn(0x1000), Lsn(0x1000), server0);
  metrics_.OnHandedOff("file:///var/lib/walship", Lsn(0x2000), server0, 12, 3456);
  metrics_.OnHandedOff("kafka", Lsn(0x2000), server0, 12, 4000);
  metrics_.OnSinkDurable("kafka", Lsn(0x2000));
  metrics_.OnServerMessage(Lsn(0x2000), Lsn(0x3000), server0 + absl::Seconds(1));
  metrics_.ObserveUpload("kafka", absl::Milliseconds(20));
  metrics_.ObserveSegmentBuild(absl::Milliseconds(2));
  metrics_.OnRetry("kafka", "transport");
  metrics_.OnError("sink", "upload");
  clock_.Advance(absl::Seconds(7));  // a stalled sink: RPO grows between scrapes

  HttpReply reply = HttpGet(server_->port(), "/metrics");
  ASSERT_EQ(reply.code, 200);
  EXPECT_THAT(reply.body, HasSubstr("walship_rpo_seconds 8\n"));
  EXPECT_THAT(reply.body, HasSubstr("walship_replication_lag_bytes 12288\n"));
  EXPECT_THAT(reply.body, HasSubstr("walship_sink_events_total{sink=\"kafka\"} 12\n"));
  EXPECT_THAT(reply.body, HasSubstr("walship_agent_state{state=\"streaming\"} 1\n"));
  EXPECT_THAT(reply.body, HasSubstr("walship_build_info{version=\""));
  for (const std::string& name : AgentMetrics::MetricNames()) {
    EXPECT_THAT(reply.body, HasSubstr(absl::StrCat("# TYPE ", name, " "))) << name;
  }
  SubprocessResult lint = PromtoolCheckMetrics(reply.body);
  EXPECT_EQ(lint.exit_code, 0) << lint.stdout_text << lint.stderr_text;

  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(HttpGet(server_->port(), "/metrics").body, HasSubstr("walship_rpo_seconds 18\n"));
}

TEST_F(MetricsServerTest, PromtoolRejectsABrokenExposition) {
  // The lint step above can fail: a family without help text is reported.
  SubprocessResult lint = PromtoolCheckMetrics("# TYPE foo_total counter\nfoo_total 1\n");
  EXPECT_NE(lint.exit_code, 0);
}

TEST_F(MetricsServerTest, HealthzFollowsStateAndProgress) {
  StartServer(absl::Seconds(60));
  HttpReply reply = HttpGet(server_->port(), "/healthz");
  EXPECT_EQ(reply.code, 503);
  EXPECT_THAT(reply.body, StartsWith("agent is reconnecting"));

  metrics_.SetState(AgentState::kStreaming);
  reply = HttpGet(server_->port(), "/healthz");
  EXPECT_EQ(reply.code, 200);
  EXPECT_EQ(reply.body, "ok\n");

  metrics_.SetState(AgentState::kSnapshotting);
  reply = HttpGet(server_->port(), "/healthz");
  EXPECT_EQ(reply.code, 503);
  EXPECT_THAT(reply.body, StartsWith("agent is snapshotting"));

  // Streaming, but one sink stops making progress.
  metrics_.SetState(AgentState::kStreaming);
  const absl::Time server0 = absl::FromUnixSeconds(1'800'000'000);
  metrics_.OnHandedOff("file", Lsn(0x2000), server0, 1, 1);
  metrics_.OnHandedOff("kafka", Lsn(0x2000), server0, 1, 1);
  metrics_.OnSinkDurable("file", Lsn(0x2000));
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").code, 200);
  clock_.Advance(absl::Seconds(31));
  reply = HttpGet(server_->port(), "/healthz");
  EXPECT_EQ(reply.code, 503);
  EXPECT_THAT(reply.body, HasSubstr("sink \"kafka\" stalled: durable at 0/0 for 61s"));

  // It resumes: healthy again.
  metrics_.OnSinkDurable("kafka", Lsn(0x2000));
  metrics_.OnAcknowledged(Lsn(0x2000));
  reply = HttpGet(server_->port(), "/healthz");
  EXPECT_EQ(reply.code, 200);
  EXPECT_EQ(reply.body, "ok\n");
}

TEST_F(MetricsServerTest, UnknownPathIsNotFound) {
  StartServer();
  EXPECT_EQ(HttpGet(server_->port(), "/nothing-here").code, 404);
}

TEST_F(MetricsServerTest, AddressInUseIsAClearError) {
  StartServer();
  MetricsServerOptions options;
  options.listen = absl::StrCat("127.0.0.1:", server_->port());
  absl::StatusOr<std::unique_ptr<MetricsServer>> second =
      MetricsServer::Start(options, registry_, metrics_);
  EXPECT_THAT(
      second.status(),
      walship::testing::StatusIs(
          absl::StatusCode::kFailedPrecondition,
          HasSubstr(absl::StrCat("address 127.0.0.1:", server_->port(), " is already in use"))));
  // The first server still answers.
  EXPECT_EQ(HttpGet(server_->port(), "/metrics").code, 200);
}

TEST_F(MetricsServerTest, PortHeldByAnotherSocketIsAClearError) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(sa);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  int port = ntohs(sa.sin_port);
  MetricsServerOptions options;
  options.listen = absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start(options, registry_, metrics_);
  close(fd);
  EXPECT_THAT(server.status(), walship::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                                          HasSubstr("is already in use")));
}

TEST(ParseListenAddress, AcceptsNumericAddresses) {
  struct Case {
    const char* text;
    const char* host;
    int port;
    bool ipv6;
  } cases[] = {{"127.0.0.1:9187", "127.0.0.1", 9187, false},
               {"0.0.0.0:0", "0.0.0.0", 0, false},
               {"localhost:65535", "127.0.0.1", 65535, false},
               {"[::1]:9187", "::1", 9187, true}};
  for (const Case& c : cases) {
    absl::StatusOr<ListenAddress> a = ParseListenAddress(c.text);
    ASSERT_OK(a.status());
    EXPECT_EQ(a->host, c.host);
    EXPECT_EQ(a->port, c.port);
    EXPECT_EQ(a->ipv6, c.ipv6);
  }
  EXPECT_EQ(ParseListenAddress("[::1]:9187")->ToString(), "[::1]:9187");
}

TEST(ParseListenAddress, RejectsMalformedAddressesWithAnExample) {
  for (const char* text : {"", "9187", ":9187", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x",
                           "127.0.0.1:65536", "127.0.0.1:-1", "example.com:9187", "::1:9187",
                           "[::1]9187", "[::1", "300.1.1.1:80", "127.0.0.1:91 87"}) {
    absl::StatusOr<ListenAddress> a = ParseListenAddress(text);
    EXPECT_THAT(a.status(), walship::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                                       HasSubstr("e.g. 127.0.0.1:9187")))
        << text;
  }
}

TEST(MetricsServerStart, MalformedAddressIsInvalidArgument) {
  prometheus::Registry registry;
  AgentMetrics metrics(registry);
  MetricsServerOptions options;
  options.listen = "metrics.example.com:9187";
  EXPECT_THAT(MetricsServer::Start(options, registry, metrics).status(),
              walship::testing::StatusIs(
                  absl::StatusCode::kInvalidArgument,
                  HasSubstr("invalid --metrics-listen \"metrics.example.com:9187\"")));
}

}  // namespace
}  // namespace walship::agent
