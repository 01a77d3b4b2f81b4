// The agent's start-up sequence and shutdown order.
#include "agent/agent_runner.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/agent_probes.h"
#include "agent/base_scheduler.h"
#include "agent/heartbeat_writer.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/metrics/metrics_server.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/replication_connection.h"
#include "agent/snapshot/ddl_capture.h"
#include "agent/snapshot/retention.h"
#include "agent/stream/source_setup.h"
#include "agent/stream/spill_file.h"
#include "agent/stream/stream_loop.h"
#include "agent/stream_identity.h"
#include "prometheus/registry.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "sinks/kafka/kafka_sink.h"
#include "sinks/object_store/encryption/encrypted_store.h"
#include "sinks/object_store/file_util.h"
#include "sinks/object_store/heartbeat.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/object_store_sink.h"
#include "sinks/object_store/open_object_store.h"
#include "sinks/pipelined_sink.h"

namespace walship::agent {
namespace {

// The work directory and everything below it are private (0700, ours, writable by no one
// else): staged segments and spilled transactions hold plaintext rows.
absl::Status MakeWorkDirs(const std::string& root, const std::string& path) {
  WALSHIP_RETURN_IF_ERROR(sinks::MakePrivateDir(root));
  return sinks::MakePrivateDir(path);
}

v1::SegmentHeader MakeHeaderTemplate(const SourceState& source, const std::string& slot,
                                     const v1::StreamIncarnation& incarnation) {
  v1::SegmentHeader header;
  for (const auto& [name, value] : pg::PinnedSessionSettings()) {
    (*header.mutable_session()->mutable_settings())[name] = value;
  }
  header.mutable_session()->set_server_version(source.server_version);
  header.mutable_session()->set_server_encoding(source.server_encoding);
  header.set_system_id(source.identity.system_id);
  header.set_timeline(source.identity.timeline);
  header.set_database(source.identity.database);
  header.set_slot(slot);
  header.set_incarnation(incarnation.number());
  header.set_incarnation_id(incarnation.id());
  return header;
}

// The newest complete base's snapshot LSN in the branch (Invalid when none).
Lsn NewestBaseLsn(sinks::ObjectStore& store, const sinks::StreamId& stream) {
  auto listed = store.List(stream.Prefix() + "base/");
  Lsn newest;
  if (!listed.ok()) return newest;
  for (const sinks::ObjectInfo& object : *listed) {
    auto parsed = sinks::ParseBaseKey(object.key);
    if (parsed && parsed->file == "manifest.pb") newest = std::max(newest, parsed->snapshot_lsn);
  }
  return newest;
}

// Opens every object store (encrypted when configured). First of all: a bad URL or key
// must not leave a slot behind.
absl::StatusOr<std::vector<std::unique_ptr<sinks::ObjectStore>>> OpenStores(
    const AgentConfig& config, const sinks::OpenObjectStoreOptions& store_options) {
  std::vector<std::unique_ptr<sinks::ObjectStore>> stores;
  for (const std::string& url : config.object_stores) {
    WALSHIP_ASSIGN_OR_RETURN(auto store, sinks::OpenObjectStore(url, store_options));
    WALSHIP_ASSIGN_OR_RETURN(store,
                             sinks::MaybeEncrypt(std::move(store), config.encryption_key_file));
    stores.push_back(std::move(store));
  }
  return stores;
}

// Kafka is opened (settings checked, brokers reached) before anything is created at the
// source, so a bad setting leaves no slot behind. nullptr without --kafka.
absl::StatusOr<std::unique_ptr<sinks::Sink>> OpenKafka(const AgentConfig& config,
                                                       pg::ReplicationConnection& conn) {
  if (config.kafka_bootstrap.empty()) return nullptr;
  WALSHIP_ASSIGN_OR_RETURN(pg::SystemIdentity identity, conn.IdentifySystem());
  sinks::KafkaSinkOptions kafka;
  kafka.bootstrap_servers = config.kafka_bootstrap;
  kafka.topic_prefix = config.topic_prefix.empty() ? identity.database : config.topic_prefix;
  kafka.settings = config.kafka_settings;
  kafka.properties_file = config.kafka_config_file;
  kafka.tombstones_on_delete = config.kafka_tombstones;
  WALSHIP_ASSIGN_OR_RETURN(auto sink, sinks::OpenKafkaSink(kafka));
  LogInfo("kafka %s: topics %s.<schema>.<table>", config.kafka_bootstrap, kafka.topic_prefix);
  // On a thread of its own: encoding and producing each event costs about as much as
  // decoding it, and would otherwise slow the stream for every sink.
  return sinks::MakePipelined(std::move(sink));
}

// The DDL capture: installed by --create, brought up to date at every start where it is
// installed, and a warning whenever it is missing or disabled, since a schema change it
// does not capture reaches the store undescribed (replay then follows Relation messages,
// which cannot tell a renamed column from a dropped and an added one).
void CheckDdlCapture(const AgentConfig& config, const std::string& database) {
  auto ddl_conn = pg::PgConnection::Connect(config.source, pg::ConnectionKind::kNormal);
  absl::StatusOr<snapshot::DdlCaptureState> state =
      ddl_conn.ok() ? snapshot::ReadDdlCaptureState(**ddl_conn) : ddl_conn.status();
  absl::Status installed = absl::OkStatus();
  if (ddl_conn.ok() && (config.create || (state.ok() && state->installed && state->enabled))) {
    installed = snapshot::InstallDdlCapture(**ddl_conn);
    if (installed.ok()) state = snapshot::ReadDdlCaptureState(**ddl_conn);
  }
  if (!state.ok()) {
    LogWarning("cannot check the DDL capture triggers: %s", state.status().message());
  } else if (!state->installed || !state->enabled) {
    LogWarning(
        "schema changes are NOT captured in database \"%s\": the walship DDL capture "
        "event triggers are %s%s; replay will follow relation messages only (a renamed "
        "column restores as dropped and added, without its values). Start the agent once "
        "with --create as a superuser to install them",
        database, state->installed ? "disabled" : "missing",
        installed.ok() ? "" : absl::StrCat(" (installing them failed: ", installed.message(), ")"));
  } else if (!installed.ok()) {
    LogWarning("cannot bring the DDL capture triggers up to date (%s); older ones keep "
               "capturing", installed.message());
  }
}

snapshot::SnapshotOptions MakeSnapshotOptions(const AgentConfig& config,
                                              const StreamIdentity& identity) {
  snapshot::SnapshotOptions snap;
  snap.conninfo = config.source;
  snap.publication = config.publication;
  snap.slot = config.slot;
  snap.jobs = config.snapshot_jobs;
  snap.zstd_level = config.compression_level;
  snap.branch = identity.stream.branch;
  snap.incarnation = identity.incarnation.number();
  snap.incarnation_id = identity.incarnation.id();
  snap.expected_timeline = identity.incarnation.timeline();
  return snap;
}

// The object-store sinks, one per store, and whether any of them recorded a gap after the
// newest base (segments lost before the slot's position, or a slot that starts past the
// store's end; recorded now or by a start that died before its base), which makes a new
// base due at once.
struct StoreSinks {
  std::vector<std::unique_ptr<sinks::Sink>> owned;
  std::vector<sinks::Sink*> ptrs;
  bool gap_recorded = false;
};

absl::StatusOr<StoreSinks> OpenStoreSinks(
    const AgentConfig& config, const std::vector<std::unique_ptr<sinks::ObjectStore>>& stores,
    const SourceState& source, const StreamIdentity& identity, const std::string& work,
    AgentMetrics& metrics) {
  const sinks::StreamId& stream = identity.stream;
  v1::SegmentHeader header = MakeHeaderTemplate(source, config.slot, identity.incarnation);
  v1::SegmentIndex index_identity;
  index_identity.set_system_id(identity.incarnation.system_id());
  index_identity.set_timeline(identity.incarnation.timeline());
  index_identity.set_incarnation(identity.incarnation.number());
  index_identity.set_incarnation_id(identity.incarnation.id());
  StoreSinks out;
  for (size_t i = 0; i < stores.size(); ++i) {
    sinks::ObjectStoreSinkOptions options;
    options.stream = stream;
    options.header_template = header;
    options.segment_max_bytes = config.segment_max_bytes;
    options.segment_max_age = config.segment_max_age;
    options.staging_dir = absl::StrCat(work, "/staging-", i);
    options.zstd_level = config.compression_level;
    options.index_identity = index_identity;
    options.slot_confirmed = source.slot.confirmed_flush;
    options.vouched = identity.vouched[i];
    options.newest_base = NewestBaseLsn(*stores[i], stream);
    options.new_slot_reason = identity.slot_reason;
    sinks::ObjectStoreSinkOptions::OpenReport report;
    options.report = &report;
    std::string sink_name = stores[i]->url();
    options.on_segment_stored =
        [&metrics, sink_name](const sinks::ObjectStoreSinkOptions::SegmentStats& stats) {
          metrics.ObserveSegmentBuild(stats.open_for);
          metrics.ObserveUpload(sink_name, stats.store_took);
          metrics.AddSinkBytes(sink_name, stats.bytes);
        };
    WALSHIP_ASSIGN_OR_RETURN(auto sink, sinks::OpenObjectStoreSink(stores[i].get(), options));
    LogInfo("object store %s: changes stored up to %s%s", stores[i]->url(),
            sink->DurableWatermark().ToString(),
            report.refills == 0 ? ""
                                : absl::StrFormat(" (%d missing runs to write again from the slot)",
                                                  report.refills));
    if (report.base_needed) out.gap_recorded = true;
    out.ptrs.push_back(sink.get());
    out.owned.push_back(std::move(sink));
  }
  return out;
}

// Removes interrupted bases, then takes the first base when a store holds none (or a gap
// was recorded). Returns when the newest base was taken (the oldest newest-base over the
// stores; nullopt: none).
absl::StatusOr<std::optional<absl::Time>> PrepareBases(const AgentConfig& config,
                                                       const std::vector<sinks::ObjectStore*>& stores,
                                                       const sinks::StreamId& stream,
                                                       bool gap_recorded, BaseScheduler& bases,
                                                       AgentMetrics& metrics) {
  std::optional<absl::Time> newest_base;
  for (sinks::ObjectStore* store : stores) {
    WALSHIP_ASSIGN_OR_RETURN(int removed, snapshot::CleanIncompleteBases(*store, stream));
    if (removed > 0) {
      LogInfo("removed %d objects of an interrupted base snapshot from %s", removed,
              store->url());
    }
  }
  // Every store must hold a base; the oldest newest-base decides.
  bool all_have_base = true;
  for (sinks::ObjectStore* store : stores) {
    WALSHIP_ASSIGN_OR_RETURN(auto newest, NewestBaseTime(*store, stream));
    if (!newest) all_have_base = false;
    if (newest && (!newest_base || *newest < *newest_base)) newest_base = newest;
  }
  if (!all_have_base || gap_recorded) {
    LogInfo("%s: taking one of publication \"%s\" (%d jobs)",
            all_have_base ? "the stream has a new gap, so restores past it need a new base"
                          : "no base snapshot stored yet",
            config.publication, config.snapshot_jobs);
    metrics.SetState(AgentState::kSnapshotting);
    WALSHIP_RETURN_IF_ERROR(bases.TakeNow());
    newest_base = absl::Now();
  }
  return newest_base;
}

StreamOptions MakeStreamOptions(const AgentConfig& config, const SourceState& source,
                                const std::string& spill_dir) {
  StreamOptions options;
  options.conninfo = config.source;
  options.slot = config.slot;
  options.publication = config.publication;
  options.system_id = source.identity.system_id;
  options.until_lsn = config.until_lsn;
  options.spill_dir = spill_dir;
  options.memory_limit_per_transaction = config.transaction_memory_bytes;
  options.heartbeat_interval = config.heartbeat_interval;
  options.sequence_interval = config.sequence_interval;
  options.sequence_min_interval = std::min(absl::Seconds(1), config.sequence_interval);
  options.idle_report_interval = config.idle_report_interval;
  return options;
}

}  // namespace

absl::Status RunAgent(const AgentConfig& config, const std::atomic<bool>* stop) {
  if (pg::ConninfoHasPassword(config.source)) {
    LogWarning(
        "--source holds a password, which other users can read from the process "
        "list; use PGPASSWORD, ~/.pgpass or passfile= instead");
  }
  prometheus::Registry registry;
  AgentMetrics metrics(registry);
  // Retried object-store requests count in walship_retries_total{sink=<store URL>}; the
  // probes go before `metrics` does, the stores before the probes.
  MetricsRetryProbe retry_probe(metrics);
  MetricsStreamProbe stream_probe(metrics);
  MetricsBaseProbe base_probe(metrics);
  sinks::OpenObjectStoreOptions store_options;
  store_options.retry_probe = &retry_probe;
  WALSHIP_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<sinks::ObjectStore>> stores,
                           OpenStores(config, store_options));
  std::vector<sinks::ObjectStore*> store_ptrs;
  for (const auto& store : stores) store_ptrs.push_back(store.get());
  std::unique_ptr<MetricsServer> metrics_server;
  if (!config.metrics_listen.empty()) {
    MetricsServerOptions options;
    options.listen = config.metrics_listen;
    WALSHIP_ASSIGN_OR_RETURN(metrics_server, MetricsServer::Start(options, registry, metrics));
    LogInfo("metrics and /healthz on http://%s", metrics_server->address());
  }

  WALSHIP_ASSIGN_OR_RETURN(auto conn, pg::ReplicationConnection::Connect(config.source));
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::Sink> kafka_sink, OpenKafka(config, *conn));
  SourceOptions source_options{config.slot, config.publication, config.create, config.tables};
  WALSHIP_ASSIGN_OR_RETURN(SourceState source, PrepareSource(*conn, source_options));
  LogInfo("source %s: system %s, timeline %u, database \"%s\", slot \"%s\" confirmed at %s",
          conn->Describe(), source.identity.system_id, source.identity.timeline,
          source.identity.database, config.slot, source.slot.confirmed_flush.ToString());
  CheckDdlCapture(config, source.identity.database);
  // Which history this is: a new incarnation when the slot was created again or the server
  // switched timelines (recorded in every store before anything else is written).
  ServerState server{source.identity, config.slot, source.slot_created,
                     source.slot.confirmed_flush, config.source};
  WALSHIP_ASSIGN_OR_RETURN(StreamIdentity identity, ResolveStreamIdentity(store_ptrs, server, *conn));
  const sinks::StreamId stream = identity.stream;

  std::string work = absl::StrCat(config.work_dir, "/", config.slot);
  std::string spill_dir = work + "/spill";
  WALSHIP_RETURN_IF_ERROR(MakeWorkDirs(config.work_dir, work));
  WALSHIP_RETURN_IF_ERROR(sinks::MakePrivateDir(spill_dir));
  RemoveStaleSpillFiles(spill_dir);

  // Base snapshots: the first one before streaming when the store has none, then by policy.
  snapshot::BasePolicy policy;
  policy.every = config.base_every;
  if (!config.base_at.empty()) {
    WALSHIP_ASSIGN_OR_RETURN(policy.at, snapshot::ParseTimeOfDay(config.base_at));
  }
  snapshot::RetentionPolicy retention;
  retention.retain_base = config.retain_base;
  retention.retain_for = absl::Hours(24) * config.retain_days;
  BaseScheduler bases(MakeSnapshotOptions(config, identity), store_ptrs, stream, policy,
                      retention, base_probe);
  WALSHIP_ASSIGN_OR_RETURN(StoreSinks sinks,
                           OpenStoreSinks(config, stores, source, identity, work, metrics));
  std::optional<absl::Time> newest_base;
  if (!config.no_base) {
    WALSHIP_ASSIGN_OR_RETURN(newest_base, PrepareBases(config, store_ptrs, stream,
                                                       sinks.gap_recorded, bases, metrics));
  }
  if (kafka_sink != nullptr) {
    sinks.ptrs.push_back(kafka_sink.get());
    sinks.owned.push_back(std::move(kafka_sink));
  }

  StreamOptions options = MakeStreamOptions(config, source, spill_dir);
  // Heartbeats are written off the loop's thread (a slow store must not stall it).
  // Positions past the stored changes are confirmed only once a heartbeat vouches for them,
  // so a restart never finds the slot past what the stores know about.
  HeartbeatWriter heartbeats(&stores, &identity);
  options.on_idle = [&heartbeats](absl::Time now, Lsn acknowledged, Lsn server_wal) {
    heartbeats.RequestIdle(now, acknowledged, server_wal);
  };
  options.on_vouch = [&heartbeats](absl::Time now, Lsn position, Lsn server_wal) {
    heartbeats.RequestVouch(now, position, server_wal);
  };
  options.vouched = [&heartbeats] { return heartbeats.Vouched(); };
  if (!config.no_base) {
    options.on_tables_entered = [&bases](std::vector<std::string> tables, Lsn since,
                                         int64_t since_time_us) {
      bases.RequestForEnteredTables(std::move(tables), since, since_time_us);
    };
  }
  StreamLoop loop(options, sinks.ptrs, source.slot.confirmed_flush, stop, stream_probe);
  if (!config.no_base) bases.Start(newest_base);
  absl::Status status = loop.Run(std::move(conn));
  // Shutdown order: periodic bases, then sinks (drained), then stores, then metrics.
  bases.Stop();
  for (auto& sink : sinks.owned) {
    absl::Status closed = sink->Close(absl::Now() + absl::Seconds(60));
    if (status.ok()) status = closed;
  }
  return status;
}

}  // namespace walship::agent
