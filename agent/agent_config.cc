// Validation of the agent's configuration.
#include "agent/agent_config.h"

#include "absl/strings/str_format.h"

namespace walship::agent {
namespace {

bool ValidSlotName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateAgentConfig(const AgentConfig& config) {
  if (config.source.empty()) {
    return absl::InvalidArgumentError("--source is required (a libpq connection string)");
  }
  if (!ValidSlotName(config.slot)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--slot \"%s\" is not a valid slot name (lower-case letters, digits and _, at most "
        "63 characters)",
        config.slot));
  }
  if (config.publication.empty() || config.publication.size() > 63) {
    return absl::InvalidArgumentError("--publication must be 1 to 63 characters");
  }
  if (config.object_stores.empty()) {
    return absl::InvalidArgumentError(
        "at least one --object-store is required (e.g. file:///var/lib/walship)");
  }
  if (config.segment_max_bytes < (64 << 10) || config.segment_max_bytes > (4ull << 30)) {
    return absl::InvalidArgumentError("--segment-max-bytes must be between 64 KiB and 4 GiB");
  }
  if (config.segment_max_age <= absl::ZeroDuration() ||
      config.segment_max_age > absl::Minutes(10)) {
    return absl::InvalidArgumentError("--segment-max-ms must be between 1 and 600000");
  }
  if (config.compression_level < 0 || config.compression_level > 19) {
    return absl::InvalidArgumentError("--compression-level must be between 0 and 19");
  }
  if (!config.tables.empty() && !config.create) {
    return absl::InvalidArgumentError("--tables only applies together with --create");
  }
  if (config.transaction_memory_bytes < (64 << 10) ||
      config.transaction_memory_bytes > (16ull << 30)) {
    return absl::InvalidArgumentError(
        "--transaction-memory-bytes must be between 64 KiB and 16 GiB");
  }
  if (config.kafka_bootstrap.empty() &&
      (!config.topic_prefix.empty() || !config.kafka_settings.empty() ||
       !config.kafka_config_file.empty() || config.kafka_tombstones)) {
    return absl::InvalidArgumentError(
        "--topic-prefix, --kafka-config, --kafka-config-file and --kafka-tombstones need --kafka");
  }
  if (config.snapshot_jobs < 1 || config.snapshot_jobs > 64) {
    return absl::InvalidArgumentError("--snapshot-jobs must be between 1 and 64");
  }
  if (config.retain_base < 0 || config.retain_days < 0) {
    return absl::InvalidArgumentError("--retain-base and --retain-days must not be negative");
  }
  if (config.no_base && (config.base_every > absl::ZeroDuration() || !config.base_at.empty() ||
                         config.retain_base > 0 || config.retain_days > 0)) {
    return absl::InvalidArgumentError(
        "--no-base conflicts with --base-every, --base-at, --retain-base and --retain-days");
  }
  if (config.base_every < absl::ZeroDuration() ||
      (config.base_every > absl::ZeroDuration() && config.base_every < absl::Seconds(1))) {
    return absl::InvalidArgumentError("--base-every must be at least 1s (e.g. 24h)");
  }
  if (config.work_dir.empty()) return absl::InvalidArgumentError("--work-dir must not be empty");
  return absl::OkStatus();
}

}  // namespace walship::agent
