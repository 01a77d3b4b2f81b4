// The deployment files in docker/ agree with the code: alert rules and the dashboard query
// only metric names the agent exports, every alert rule has firing and quiet unit tests,
// the Dockerfile builds the way the quick start does, and a fresh agent's exposition passes
// `promtool check metrics`.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/metrics/agent_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "tests/testing/subprocess.h"

namespace walship::agent {
namespace {

using ::testing::IsSubsetOf;

std::string ReadDockerFile(const std::string& name) {
  std::ifstream in(absl::StrCat(WALSHIP_DOCKER_DIR, "/", name));
  EXPECT_TRUE(in.good()) << "cannot read docker/" << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Matches(const std::string& text, const std::string& pattern,
                                 int group = 0) {
  std::vector<std::string> out;
  std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[group].str());
  }
  return out;
}

// Metric families named in `text` (series suffixes of histograms mapped to their family).
std::set<std::string> MetricNamesIn(const std::string& text) {
  const std::vector<std::string>& known = AgentMetrics::MetricNames();
  std::set<std::string> names;
  for (std::string name : Matches(text, "walship_[a-z0-9_]+")) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (absl::EndsWith(name, suffix)) {
          std::string base = name.substr(0, name.size() - strlen(suffix));
          if (std::find(known.begin(), known.end(), base) != known.end()) name = base;
        }
      }
    }
    names.insert(name);
  }
  return names;
}

TEST(DeploymentFiles, AlertRulesUseOnlyExportedMetricNames) {
  std::set<std::string> used = MetricNamesIn(ReadDockerFile("alerts.yml"));
  EXPECT_GE(used.size(), 6u);
  EXPECT_THAT(used, IsSubsetOf(AgentMetrics::MetricNames()));
}

TEST(DeploymentFiles, DashboardQueriesUseOnlyExportedMetricNames) {
  std::string dashboard = ReadDockerFile("grafana/dashboards/walship.json");
  std::vector<std::string> exprs = Matches(dashboard, "\"expr\": \"([^\"\\\\]|\\\\.)*\"");
  EXPECT_GE(exprs.size(), 10u);
  std::string all_exprs;
  for (const std::string& e : exprs) absl::StrAppend(&all_exprs, e, "\n");
  std::set<std::string> used = MetricNamesIn(all_exprs);
  EXPECT_THAT(used, IsSubsetOf(AgentMetrics::MetricNames()));
  // The dashboard shows lag, RPO, throughput, errors and snapshot age.
  for (const char* name :
       {"walship_replication_lag_seconds", "walship_replication_lag_bytes", "walship_rpo_seconds",
        "walship_sink_events_total", "walship_errors_total",
        "walship_base_snapshot_last_success_timestamp_seconds"}) {
    EXPECT_TRUE(used.count(name)) << name;
  }
}

TEST(DeploymentFiles, MetricNameCheckCatchesAnUnknownName) {
  std::set<std::string> used = MetricNamesIn("rate(walship_sink_event_total[5m])");
  EXPECT_THAT(used, ::testing::Not(IsSubsetOf(AgentMetrics::MetricNames())));
}

TEST(DeploymentFiles, EveryAlertRuleHasFiringAndQuietTests) {
  std::vector<std::string> rules = Matches(ReadDockerFile("alerts.yml"), "- alert: (\\w+)", 1);
  EXPECT_EQ(rules.size(), 7u);
  std::string tests = ReadDockerFile("alerts_test.yml");
  for (const std::string& rule : rules) {
    std::vector<std::string> cases =
        Matches(tests, absl::StrCat("alertname: ", rule, "\\n\\s+exp_alerts:(\\s*\\[\\])?"), 1);
    int quiet = std::count(cases.begin(), cases.end(), std::string(""));
    int firing = static_cast<int>(cases.size()) - quiet;
    EXPECT_GE(firing, 1) << rule << " has no firing test";
    EXPECT_GE(quiet, 1) << rule << " has no test where it stays quiet";
  }
}

TEST(DeploymentFiles, DockerfileBuildsLikeTheQuickStart) {
  std::string dockerfile = ReadDockerFile("Dockerfile");
  std::string quickstart = ReadDockerFile("quickstart.sh");
  for (const char* step :
       {"docker/install_deps.sh", "-DCMAKE_BUILD_TYPE=Release", "-DWALSHIP_BUILD_TESTS=OFF",
        "agent/walship-agent replay/walship-replay"}) {
    EXPECT_TRUE(absl::StrContains(dockerfile, step)) << step;
    EXPECT_TRUE(absl::StrContains(quickstart, step)) << step;
  }
  EXPECT_TRUE(absl::StrContains(dockerfile, "FROM debian:12 AS build"));
  EXPECT_EQ(Matches(dockerfile, "\\nFROM ").size() + (dockerfile.rfind("FROM", 0) == 0), 2u);
}

TEST(DeploymentFiles, ComposeRunsLogicalWalAndPrometheusScrapesTheAgentPort) {
  std::string compose = ReadDockerFile("docker-compose.yml");
  EXPECT_TRUE(absl::StrContains(compose, "wal_level=logical"));
  EXPECT_TRUE(absl::StrContains(compose, "KAFKA_PROCESS_ROLES: broker,controller"));
  EXPECT_TRUE(absl::StrContains(compose, "- 0.0.0.0:9187"));
  EXPECT_TRUE(absl::StrContains(ReadDockerFile("prometheus.yml"), "walship-agent:9187"));
}

TEST(DeploymentFiles, FreshAgentExpositionPassesPromtool) {
  prometheus::Registry registry;
  AgentMetrics metrics(registry);
  std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  absl::StatusOr<walship::testing::SubprocessResult> lint = walship::testing::Subprocess::Run(
      {"promtool", "check", "metrics"}, absl::Seconds(60), {}, text);
  ASSERT_TRUE(lint.ok()) << lint.status();
  EXPECT_EQ(lint->exit_code, 0) << lint->stdout_text << lint->stderr_text;
}

}  // namespace
}  // namespace walship::agent
