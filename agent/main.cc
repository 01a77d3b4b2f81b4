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
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agent/agent_config.h"
#include "agent/base/log.h"
#include "agent/base/status_macros.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/replication_connection.h"
#include "agent/stream/source_setup.h"
#include "agent/stream/spill_file.h"
#include "agent/stream/stream_loop.h"
#include "sinks/kafka/kafka_sink.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/object_store_sink.h"

namespace walship::agent {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

absl::Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrFormat("cannot create directory \"%s\": %s (set --work-dir)", path, ec.message()));
  }
  return absl::OkStatus();
}

absl::Status RunAgent(const AgentConfig& config) {
  if (pg::ConninfoHasPassword(config.source)) {
    LogWarning("--source holds a password, which other users can read from the process "
               "list; use PGPASSWORD, ~/.pgpass or passfile= instead");
  }
  // Every object store is opened first: a bad URL must not leave a slot behind.
  std::vector<std::unique_ptr<sinks::ObjectStore>> stores;
  for (const std::string& url : config.object_stores) {
    WALSHIP_ASSIGN_OR_RETURN(auto store, sinks::OpenObjectStore(url));
    stores.push_back(std::move(store));
  }
  WALSHIP_ASSIGN_OR_RETURN(auto conn, pg::ReplicationConnection::Connect(config.source));
  SourceOptions source_options{config.slot, config.publication, config.create, config.tables};
  WALSHIP_ASSIGN_OR_RETURN(SourceState source, PrepareSource(*conn, source_options));
  LogInfo("source %s: system %s, timeline %u, database \"%s\", slot \"%s\" confirmed at %s",
          conn->Describe(), source.identity.system_id, source.identity.timeline,
          source.identity.database, config.slot, source.slot.confirmed_flush.ToString());

  std::string work = absl::StrCat(config.work_dir, "/", config.slot);
  std::string spill_dir = work + "/spill";
  WALSHIP_RETURN_IF_ERROR(MakeDirs(spill_dir));
  RemoveStaleSpillFiles(spill_dir);

  v1::SegmentHeader header;
  for (const auto& [name, value] : pg::PinnedSessionSettings()) {
    (*header.mutable_session()->mutable_settings())[name] = value;
  }
  header.mutable_session()->set_server_version(source.server_version);
  header.mutable_session()->set_server_encoding(source.server_encoding);
  header.set_system_id(source.identity.system_id);
  header.set_timeline(source.identity.timeline);
  header.set_database(source.identity.database);
  header.set_slot(config.slot);

  std::vector<std::unique_ptr<sinks::Sink>> owned_sinks;
  std::vector<sinks::Sink*> sink_ptrs;
  for (size_t i = 0; i < stores.size(); ++i) {
    sinks::ObjectStore* store = stores[i].get();
    sinks::ObjectStoreSinkOptions options;
    options.stream = sinks::StreamId{source.identity.system_id, config.slot};
    options.header_template = header;
    options.segment_max_bytes = config.segment_max_bytes;
    options.segment_max_age = config.segment_max_age;
    options.staging_dir = absl::StrCat(work, "/staging-", i);
    options.zstd_level = config.compression_level;
    WALSHIP_ASSIGN_OR_RETURN(auto sink, sinks::OpenObjectStoreSink(store, options));
    LogInfo("object store %s: stored up to %s", store->url(),
            sink->DurableWatermark().ToString());
    sink_ptrs.push_back(sink.get());
    owned_sinks.push_back(std::move(sink));
  }

  if (!config.kafka_bootstrap.empty()) {
    sinks::KafkaSinkOptions kafka;
    kafka.bootstrap_servers = config.kafka_bootstrap;
    kafka.topic_prefix =
        config.topic_prefix.empty() ? source.identity.database : config.topic_prefix;
    kafka.settings = config.kafka_settings;
    kafka.properties_file = config.kafka_config_file;
    kafka.tombstones_on_delete = config.kafka_tombstones;
    WALSHIP_ASSIGN_OR_RETURN(auto sink, sinks::OpenKafkaSink(kafka));
    LogInfo("kafka %s: topics %s.<schema>.<table>", config.kafka_bootstrap, kafka.topic_prefix);
    sink_ptrs.push_back(sink.get());
    owned_sinks.push_back(std::move(sink));
  }

  StreamOptions stream;
  stream.conninfo = config.source;
  stream.slot = config.slot;
  stream.publication = config.publication;
  stream.system_id = source.identity.system_id;
  stream.until_lsn = config.until_lsn;
  stream.spill_dir = spill_dir;
  stream.memory_limit_per_transaction = config.transaction_memory_bytes;
  StreamLoop loop(stream, sink_ptrs, source.slot.confirmed_flush, &g_stop);
  absl::Status status = loop.Run(std::move(conn));
  // Sinks are closed (drained) before the stores they write to are destroyed.
  for (auto& sink : owned_sinks) {
    absl::Status closed = sink->Close(absl::Now() + absl::Seconds(60));
    if (status.ok()) status = closed;
  }
  return status;
}

int Main(int argc, char** argv) {
  CLI::App app{"walship-agent: streams committed changes of a PostgreSQL database to object "
               "stores, acknowledging only what every store holds durably"};
  app.set_config("--config", "", "Read options from this TOML/INI file (same keys)");
  app.option_defaults()->always_capture_default();
  AgentConfig config;
  std::string until_lsn, log_format = "text", log_level = "info";
  int64_t segment_max_ms = absl::ToInt64Milliseconds(config.segment_max_age);
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
  app.add_option("--segment-max-bytes", config.segment_max_bytes,
                 "Close a segment at this size");
  app.add_option("--segment-max-ms", segment_max_ms,
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
               "Follow each DELETE with a tombstone (for compacted topics)");
  app.add_option("--until-lsn", until_lsn,
                 "Exit once everything up to this LSN is durable and acknowledged");
  app.add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  config.segment_max_age = absl::Milliseconds(segment_max_ms);
  config.log_format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  config.log_level = log_level == "debug"     ? LogLevel::kDebug
                     : log_level == "warning" ? LogLevel::kWarning
                     : log_level == "error"   ? LogLevel::kError
                                              : LogLevel::kInfo;
  ConfigureLog(config.log_level, config.log_format, "walship-agent");
  if (!until_lsn.empty()) {
    auto lsn = Lsn::Parse(until_lsn);
    if (!lsn.ok()) {
      std::fprintf(stderr, "walship-agent: error: --until-lsn: %s\n",
                   std::string(lsn.status().message()).c_str());
      return 2;
    }
    config.until_lsn = *lsn;
  }
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

  absl::Status status = RunAgent(config);
  if (!status.ok()) {
    LogError("%s", status.message());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace walship::agent

int main(int argc, char** argv) { return walship::agent::Main(argc, argv); }
