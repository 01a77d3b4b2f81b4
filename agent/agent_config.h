// The agent's validated configuration, built once by main.cc from the command line and
// the --config file.
#ifndef WALSHIP_AGENT_AGENT_CONFIG_H_
#define WALSHIP_AGENT_AGENT_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "proto/core/log.h"

namespace walship::agent {

struct AgentConfig {
  // libpq connection string of the source database (no password: use PGPASSWORD,
  // ~/.pgpass or passfile=).
  std::string source;
  // Logical replication slot and publication to stream from.
  std::string slot = "walship";
  std::string publication = "walship";
  // Create slot and publication when missing.
  bool create = false;
  // Tables for a publication created by --create; empty means FOR ALL TABLES.
  std::vector<std::string> tables;
  // Object store URLs; every one must hold a transaction before it is acknowledged.
  std::vector<std::string> object_stores;
  // Local working directory: segment staging and spill files.
  std::string work_dir = "/var/tmp/walship";
  // Group commit: a segment is made durable at this size or after this wait.
  uint64_t segment_max_bytes = 64ull << 20;
  absl::Duration segment_max_age = absl::Milliseconds(200);
  // zstd level for segments (0: uncompressed).
  int compression_level = 3;
  // Memory one transaction may use before it spills to disk.
  uint64_t transaction_memory_bytes = 8ull << 20;
  // Kafka: bootstrap servers (empty: no Kafka sink), topic prefix (default: the source
  // database's name), librdkafka settings (key=value, no secrets) and a properties file
  // (where TLS/SASL secrets belong), and whether a DELETE is followed by a tombstone.
  std::string kafka_bootstrap;
  std::string topic_prefix;
  std::vector<std::string> kafka_settings;
  std::string kafka_config_file;
  bool kafka_tombstones = false;
  // Key file for encryption at rest ("KEYID:BASE64" lines); empty: WALSHIP_ENCRYPTION_KEY or
  // no encryption.
  std::string encryption_key_file;
  // Base snapshots: never (stream changes only), parallel table copies, the periodic
  // policy (every this long and/or at this local time of day, "02:00" or
  // "02:00 Europe/Berlin"), and retention (newest N bases and/or D days restorable).
  bool no_base = false;
  int snapshot_jobs = 4;
  absl::Duration base_every = absl::ZeroDuration();
  std::string base_at;
  int retain_base = 0;
  int retain_days = 0;
  // Prometheus metrics and /healthz on ADDR:PORT (empty: off).
  std::string metrics_listen;
  // Emit a heartbeat logical message this often when idle (0: never).
  absl::Duration heartbeat_interval = absl::ZeroDuration();
  // Record the free-standing sequences at least this often, and after group commits when
  // they changed (0: never).
  absl::Duration sequence_interval = absl::Seconds(10);
  // While idle, write a heartbeat object to every store at most this often.
  absl::Duration idle_report_interval = absl::Minutes(1);
  // Stop once everything up to this LSN is durable and acknowledged.
  Lsn until_lsn;
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;
};

// Checks the combination of settings (object stores present, sizes in range, slot and
// publication names valid). kInvalidArgument naming the option.
absl::Status ValidateAgentConfig(const AgentConfig& config);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_AGENT_CONFIG_H_
