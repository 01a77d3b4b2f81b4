// walship-agent: streams a PostgreSQL database's committed changes to object stores.
// Command-line parsing lives here only; everything else receives a validated AgentConfig.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/agent_config.h"
#include "agent/agent_runner.h"
#include "proto/core/log.h"

namespace walship::agent {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

// Options that CLI11 fills in a form other than AgentConfig's (text, numbers of units).
struct RawOptions {
  std::string until_lsn;
  std::string log_format = "text";
  std::string log_level = "info";
  int64_t segment_max_ms = 0;
  double heartbeat_seconds = 0;
  double sequence_seconds = 10;
  double idle_report_seconds = 0;
  std::string base_every;
};

void AddOptions(CLI::App& app, AgentConfig& config, RawOptions& raw) {
  app.add_option("--source", config.source,
                 "Source connection string (libpq conninfo or URI; password via PGPASSWORD "
                 "or ~/.pgpass, never here)")
      ->required();
  app.add_option("--slot", config.slot, "Logical replication slot");
  app.add_option("--publication", config.publication, "Publication to stream");
  app.add_flag("--create", config.create, "Create the slot and publication when missing");
  app.add_option("--tables", config.tables,
                 "With --create: publish only these tables (schema.table)")
      ->delimiter(',');
  app.add_option("--object-store", config.object_stores,
                 "Object store URL, repeatable (file:///var/lib/walship)")
      ->required();
  app.add_option("--work-dir", config.work_dir, "Local directory for staging and spill files");
  app.add_option("--segment-max-bytes", config.segment_max_bytes, "Close a segment at this size");
  app.add_option("--segment-max-ms", raw.segment_max_ms,
                 "Group commit: longest a committed transaction waits before it is made "
                 "durable");
  app.add_option("--compression-level", config.compression_level, "zstd level, 0 = none");
  app.add_option("--transaction-memory-bytes", config.transaction_memory_bytes,
                 "Memory per transaction before it spills to the work directory");
  app.add_option("--kafka", config.kafka_bootstrap,
                 "Also stream to Kafka: bootstrap servers (host:port,...)");
  app.add_option("--topic-prefix", config.topic_prefix,
                 "Kafka topic prefix (default: the source database name)");
  app.add_option("--kafka-config", config.kafka_settings,
                 "librdkafka setting key=value, repeatable (secrets only in --kafka-config-file)");
  app.add_option("--kafka-config-file", config.kafka_config_file,
                 "librdkafka properties file (key=value lines; TLS and SASL secrets go here)");
  app.add_flag("--kafka-tombstones", config.kafka_tombstones,
               "Follow each DELETE, and each UPDATE that changes the key, with a tombstone "
               "for the key the row had (for compacted topics)");
  app.add_option("--encryption-key-file", config.encryption_key_file,
                 "Encrypt every object (AES-256-GCM) with the first key of this file "
                 "(KEYID:BASE64 lines, mode 600); or set WALSHIP_ENCRYPTION_KEY");
  app.add_flag("--no-base", config.no_base,
               "Stream changes only: never take base snapshots (restore targets then need "
               "the schema and rows from before the slot)");
  app.add_option("--snapshot-jobs", config.snapshot_jobs, "Tables copied in parallel by a base");
  app.add_option("--base-every", raw.base_every,
                 "Take a base snapshot this often while streaming (e.g. 24h, 7d)");
  app.add_option("--base-at", config.base_at,
                 "Take base snapshots at this time of day (\"02:00\" local, or "
                 "\"02:00 Europe/Berlin\")");
  app.add_option("--retain-base", config.retain_base,
                 "Keep the newest N base snapshots (and the changes they need)");
  app.add_option("--retain-days", config.retain_days,
                 "Keep every point of the last D days restorable");
  app.add_option("--metrics-listen", config.metrics_listen,
                 "Serve Prometheus /metrics and /healthz on ADDR:PORT (e.g. 127.0.0.1:9187)");
  app.add_option("--heartbeat-interval", raw.heartbeat_seconds,
                 "Seconds between heartbeat messages while idle, so the slot keeps moving when "
                 "other databases write (0: off)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--sequence-interval", raw.sequence_seconds,
                 "Seconds between recordings of the free-standing sequences' values (also "
                 "recorded after each group commit when they changed), so a restore sets them "
                 "past every value used (0: off)")
      ->check(CLI::Range(0.0, 3600.0));
  // Hidden (empty group): tests shorten the once-a-minute heartbeat object while idle.
  app.add_option("--idle-report-seconds", raw.idle_report_seconds,
                 "Seconds between heartbeat objects while idle")
      ->check(CLI::Range(1.0, 3600.0))
      ->group("");
  app.add_option("--until-lsn", raw.until_lsn,
                 "Exit once everything up to this LSN is durable and acknowledged");
  app.add_option("--log-format", raw.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", raw.log_level, "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
}

// Converts the raw options into `config` and configures logging; false after printing the
// error of an option that does not parse.
bool FinishConfig(const RawOptions& raw, AgentConfig& config) {
  config.segment_max_age = absl::Milliseconds(raw.segment_max_ms);
  config.heartbeat_interval = absl::Seconds(raw.heartbeat_seconds);
  config.sequence_interval = absl::Seconds(raw.sequence_seconds);
  config.idle_report_interval = absl::Seconds(raw.idle_report_seconds);
  if (!raw.base_every.empty()) {
    std::string text = raw.base_every;
    // absl durations have no day unit: "7d" means 168h.
    if (text.back() == 'd') {
      int64_t days = 0;
      if (absl::SimpleAtoi(text.substr(0, text.size() - 1), &days))
        text = absl::StrCat(days * 24, "h");
    }
    if (!absl::ParseDuration(text, &config.base_every)) {
      std::fprintf(
          stderr,
          "walship-agent: error: --base-every \"%s\" is not a duration (e.g. 24h, 7d, 90m)\n",
          raw.base_every.c_str());
      return false;
    }
  }
  config.log_format = raw.log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  config.log_level = raw.log_level == "debug"     ? LogLevel::kDebug
                     : raw.log_level == "warning" ? LogLevel::kWarning
                     : raw.log_level == "error"   ? LogLevel::kError
                                              : LogLevel::kInfo;
  ConfigureLog(config.log_level, config.log_format, "walship-agent");
  if (!raw.until_lsn.empty()) {
    auto lsn = Lsn::Parse(raw.until_lsn);
    if (!lsn.ok()) {
      std::fprintf(stderr, "walship-agent: error: --until-lsn: %s\n",
                   std::string(lsn.status().message()).c_str());
      return false;
    }
    config.until_lsn = *lsn;
  }
  return true;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "walship-agent: streams committed changes of a PostgreSQL database to object "
      "stores, acknowledging only what every store holds durably"};
  app.set_config("--config", "", "Read options from this TOML/INI file (same keys)");
  app.option_defaults()->always_capture_default();
  AgentConfig config;
  RawOptions raw;
  raw.segment_max_ms = absl::ToInt64Milliseconds(config.segment_max_age);
  raw.idle_report_seconds = absl::ToDoubleSeconds(config.idle_report_interval);
  AddOptions(app, config, raw);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!FinishConfig(raw, config)) return 2;
  if (absl::Status valid = ValidateAgentConfig(config); !valid.ok()) {
    std::fprintf(stderr, "walship-agent: error: %s\n", std::string(valid.message()).c_str());
    return 2;
  }

  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::Status status = RunAgent(config, &g_stop);
  if (!status.ok()) {
    LogError("%s", status.message());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace walship::agent

int main(int argc, char** argv) {
  // Abseil's mutex deadlock detection (a lock graph updated on contended locks) is a
  // debugging aid; the loop and the Kafka worker share a mutex, so leave it out here.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return walship::agent::Main(argc, argv);
}
