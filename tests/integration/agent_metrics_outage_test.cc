// The shipped agent through a Kafka outage: RPO, lag and /healthz scraped every 15 s as the
// brokers go down and come back, turned into a `promtool test rules` fixture that checks
// docker/alerts.yml's WalshipRpoAboveTarget against the real scrapes.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/agent_metrics_fixture.h"
#include "tests/integration/harness.h"
#include "tests/testing/http_probe.h"
#include "tests/testing/kafka_mock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

// One annotation of one rule in docker/alerts.yml, as written there (without the quotes).
std::string AlertAnnotation(absl::string_view alert, absl::string_view key) {
  std::string rules = ReadFile(absl::StrCat(WALSHIP_DOCKER_DIR, "/alerts.yml"));
  size_t at = rules.find(absl::StrCat("- alert: ", alert, "\n"));
  EXPECT_NE(at, std::string::npos) << alert << " is not in alerts.yml";
  if (at == std::string::npos) return "";
  size_t next = rules.find("- alert: ", at + 1);
  std::string block = rules.substr(at, next == std::string::npos ? std::string::npos : next - at);
  std::smatch m;
  std::regex re(absl::StrCat("\n\\s+", key, ": \"(.*)\"\n"));
  EXPECT_TRUE(std::regex_search(block, m, re)) << key << " of " << alert;
  return m.size() > 1 ? m[1].str() : "";
}

// Prometheus's humanizeDuration template function for values of at least one second.
std::string HumanizeDuration(double v) {
  int64_t total = static_cast<int64_t>(v);
  int64_t days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60,
          seconds = total % 60;
  if (days != 0) return absl::StrFormat("%dd %dh %dm %ds", days, hours, minutes, seconds);
  if (hours != 0) return absl::StrFormat("%dh %dm %ds", hours, minutes, seconds);
  if (minutes != 0) return absl::StrFormat("%dm %ds", minutes, seconds);
  return absl::StrFormat("%.4gs", v);
}

// The scraped RPO samples (`rpo`, 15 s apart) as the input of WalshipRpoAboveTarget from
// docker/alerts.yml, checked by `promtool test rules`: pending when it first crossed 60 s
// (sample `first_above`), firing after `for: 2m` (the last of `stall_samples`), quiet on
// the recovered samples.
void ExpectTheRpoAlertFiresOnTheScrapes(const std::string& work, int port,
                                        const std::vector<double>& rpo, int first_above,
                                        int stall_samples) {
  std::vector<std::string> values;
  for (double v : rpo) values.push_back(absl::StrFormat("%.3f", v));
  double firing_value = 0;
  ASSERT_TRUE(absl::SimpleAtod(values[stall_samples - 1], &firing_value));
  std::string summary =
      absl::StrReplaceAll(AlertAnnotation("WalshipRpoAboveTarget", "summary"),
                          {{"{{ $value | humanizeDuration }}", HumanizeDuration(firing_value)}});
  std::string description = AlertAnnotation("WalshipRpoAboveTarget", "description");
  std::string instance = absl::StrCat("127.0.0.1:", port);
  std::string fixture = absl::StrFormat(
      R"(# Built by agent_metrics_test from real scrapes of walship-agent during a Kafka outage.
rule_files:
  - %s/alerts.yml
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'walship_rpo_seconds{job="walship",instance="%s"}'
        values: '%s'
    alert_rule_test:
      - eval_time: %ds
        alertname: WalshipRpoAboveTarget
        exp_alerts: []
      - eval_time: %ds
        alertname: WalshipRpoAboveTarget
        exp_alerts:
          - exp_labels: {severity: critical, job: walship, instance: "%s"}
            exp_annotations:
              summary: "%s"
              description: "%s"
      - eval_time: %ds
        alertname: WalshipRpoAboveTarget
        exp_alerts: []
)",
      WALSHIP_DOCKER_DIR, instance, absl::StrJoin(values, " "), first_above * 15,
      (stall_samples - 1) * 15, instance, summary, description,
      (static_cast<int>(rpo.size()) - 1) * 15);
  std::printf("walship_rpo_seconds scraped 15 s apart (outage, then recovery): %s\n",
              absl::StrJoin(values, " ").c_str());
  std::string fixture_path = work + "/rpo_outage_test.yml";
  std::ofstream(fixture_path) << fixture;
  ASSERT_OK_AND_ASSIGN(SubprocessResult rules,
                       Subprocess::Run({PromtoolPath(), "test", "rules", fixture_path}));
  EXPECT_EQ(rules.exit_code, 0) << rules.stdout_text << rules.stderr_text << fixture;
}

// ---- 2. a stalled sink ------------------------------------------------------------------

TEST_F(AgentMetricsTest, KafkaOutageGrowsRpoTurnsHealthzAndFiresTheRpoAlert) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  // Deliveries queued during the outage must outlive it.
  int port = StartAgentAndWait(
      AgentArgs({"--kafka", kafka->bootstrap(), "--kafka-config", "message.timeout.ms=900000"}));
  ASSERT_GT(port, 0);
  Load load(pg_->ConnInfo("crm"), absl::Milliseconds(200));
  absl::SleepFor(absl::Seconds(3));
  Scrape healthy = ScrapeMetrics(port);
  EXPECT_LT(healthy.Value("walship_rpo_seconds"), 5) << healthy.text;
  EXPECT_EQ(HttpGet(port, "/healthz").code, 200);

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka->Command(absl::StrCat("down ", id)));
    ASSERT_EQ(rc, 0);
  }
  // Scrapes every 15 s, as Prometheus would, until the RPO has been above the alert's 60 s
  // for longer than its `for: 2m` (ten samples). The first is taken as the brokers go down.
  constexpr absl::Duration kStep = absl::Seconds(15);
  constexpr int kAboveNeeded = 10;
  const absl::Time down_at = absl::Now();
  std::vector<double> rpo, lag_seconds, lag_bytes;
  std::vector<int> health_codes;
  int above = 0, first_above = -1;
  for (int k = 0; above < kAboveNeeded; ++k) {
    ASSERT_LT(k, 17) << "RPO did not stay above 60 s during the outage: " << absl::StrJoin(rpo, " ")
                     << "\n"
                     << ReadFile(log_);
    absl::Time at = down_at + kStep * k;
    if (absl::Now() < at) absl::SleepFor(at - absl::Now());
    const double outage_age = absl::ToDoubleSeconds(absl::Now() - down_at);
    Scrape s = ScrapeMetrics(port);
    HttpReply health = HttpGet(port, "/healthz");
    rpo.push_back(s.Value("walship_rpo_seconds"));
    lag_seconds.push_back(s.Value("walship_replication_lag_seconds"));
    lag_bytes.push_back(s.Value("walship_replication_lag_bytes"));
    health_codes.push_back(health.code);
    SCOPED_TRACE(absl::StrFormat("outage sample %d (%.0f s): rpo %.3f lag %.3f s %.0f B, %d %s", k,
                                 absl::ToDoubleSeconds(kStep * k), rpo.back(), lag_seconds.back(),
                                 lag_bytes.back(), health.code, health.body));
    ASSERT_TRUE(agent_->Running()) << ReadFile(log_);
    // The oldest undelivered commit came right after the brokers went down: RPO follows the
    // outage's age, and lag (from the newest durable commit) is never below it.
    if (k >= 1) {
      EXPECT_NEAR(rpo[k], outage_age, 5.0);
      EXPECT_GT(rpo[k], rpo[k - 1]);
      EXPECT_GT(lag_seconds[k], lag_seconds[k - 1]);
      EXPECT_GE(lag_seconds[k] + 1e-6, rpo[k]);
      EXPECT_GT(lag_bytes[k], 0);
    }
    EXPECT_EQ(s.Value("walship_agent_state{state=\"streaming\"}"), 1);
    if (k == 1 && outage_age < 45) {
      EXPECT_EQ(health.code, 200) << "stalled for 15 s, below the 60 s threshold";
    }
    if (outage_age > 75) {  // past the 60 s stall threshold
      EXPECT_EQ(health.code, 503);
      EXPECT_THAT(health.body, HasSubstr("sink \"kafka\" stalled"));
    }
    if (rpo[k] > 60) {
      if (first_above < 0) first_above = k;
      ++above;
    } else {
      above = 0;
      first_above = -1;
    }
  }
  EXPECT_GT(lag_bytes.back(), lag_bytes[1]) << "WAL written during the outage is not acknowledged";
  const int stall_samples = static_cast<int>(rpo.size());

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka->Command(absl::StrCat("up ", id)));
    ASSERT_EQ(rc, 0);
  }
  // Same 15 s cadence after the brokers return, until three samples show the RPO back near 0
  // and /healthz 200 again.
  int recovered = 0;
  for (int k = stall_samples; recovered < 3; ++k) {
    ASSERT_LT(k, stall_samples + 10) << "no recovery: rpo " << absl::StrJoin(rpo, " ") << "\n"
                                     << ReadFile(log_);
    absl::Time at = down_at + kStep * k;
    if (absl::Now() < at) absl::SleepFor(at - absl::Now());
    Scrape s = ScrapeMetrics(port);
    HttpReply health = HttpGet(port, "/healthz");
    rpo.push_back(s.Value("walship_rpo_seconds"));
    lag_seconds.push_back(s.Value("walship_replication_lag_seconds"));
    health_codes.push_back(health.code);
    bool back = rpo.back() < 5 && lag_seconds.back() < 5 && health.code == 200;
    recovered = back ? recovered + 1 : 0;
  }
  int64_t committed = load.Stop();
  ASSERT_EQ(load.error(), "");
  ASSERT_GT(committed, 0);
  CatchUp();
  Scrape after = ScrapeUntil(port, absl::Seconds(30), [](const Scrape& s) {
    return s.samples.count("walship_rpo_seconds") > 0 && s.samples.at("walship_rpo_seconds") == 0;
  });
  EXPECT_EQ(after.Value("walship_rpo_seconds"), 0) << after.text;
  EXPECT_EQ(after.Value("walship_replication_lag_seconds"), 0) << after.text;
  EXPECT_EQ(HttpGet(port, "/healthz").code, 200);

  ExpectTheRpoAlertFiresOnTheScrapes(work_, port, rpo, first_above, stall_samples);
  StopAgent();
}

}  // namespace
}  // namespace walship::testing
