// walship-replay: list stored streams, restore a target database to a point in time, and
// verify that two databases hold equal tables. Command-line parsing lives only here.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "proto/core/log.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "agent/pg/pg_connection.h"
#include "replay/base_catalog.h"
#include "replay/base_commands.h"
#include "replay/base_planner.h"
#include "replay/base_restorer.h"
#include "replay/object_cache.h"
#include "replay/recovery_target.h"
#include "replay/restore_planner.h"
#include "replay/restorer.h"
#include "replay/segment_catalog.h"
#include "replay/status_command.h"
#include "replay/stream_locator.h"
#include "replay/timeline_path.h"
#include "replay/stream_summary.h"
#include "replay/verifier.h"
#include "sinks/object_store/encryption/encrypted_store.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"

namespace walship::replay {
namespace {

// Everything the command line says, as parsed; validated into the typed values below.
struct ReplayConfig {
  std::string command;                     // list | restore | verify
  std::vector<std::string> object_stores;  // URLs, tried in order
  std::string encryption_key_file;         // KEYID:BASE64 lines (or WALSHIP_ENCRYPTION_KEY)
  std::string system_id;                   // stream choice when the store holds several
  std::string slot;
  std::string target;                   // conninfo of the database to restore into
  std::string source;                   // verify: the database to compare against
  std::vector<std::string> tables;      // verify: tables to compare (default all)
  std::string to_lsn, to_time, to_xid;  // at most one recovery target
  uint32_t timeline = 0;                // 0: follow the newest timeline
  bool exclusive = false;               // --to-xid: stop just before the transaction
  bool force = false;                   // empty non-empty target tables
  uint64_t batch_events = 10000;        // events per target transaction (at least)
  std::string log_format = "text";
  // Restores from base snapshots.
  std::string to_mark;             // stop right after the transaction that wrote mark:NAME
  int jobs = 4;                    // parallel COPY connections
  std::string into_schema;         // with --tables: restore them into this new schema
  bool check_base = false;         // compare loaded base tables with the manifest checksums
  uint64_t fold_memory_mb = 1024;  // fold the change window into the base load (0: never)
  int64_t sequence_margin = 1000;  // increments past the last sequence recording
  std::string work_dir;            // restore: where remote objects are fetched to
  bool create_roles = false;       // restore: create the roles the base's privileges name
  std::string scratch;             // drill: conninfo of an empty scratch database
};

absl::StatusOr<RecoveryTarget> BuildTarget(const ReplayConfig& config) {
  RecoveryTarget target;
  if (!config.to_lsn.empty()) {
    target.kind = RecoveryTarget::Kind::kLsn;
    WALSHIP_ASSIGN_OR_RETURN(target.lsn, Lsn::Parse(config.to_lsn));
  } else if (!config.to_time.empty()) {
    target.kind = RecoveryTarget::Kind::kTime;
    WALSHIP_ASSIGN_OR_RETURN(target.time, ParseTargetTime(config.to_time, absl::LocalTimeZone()));
    LogInfo("--to-time \"%s\" resolves to %s UTC", config.to_time, FormatUtc(target.time));
  } else if (!config.to_xid.empty()) {
    target.kind = RecoveryTarget::Kind::kXid;
    if (!absl::SimpleAtoi(config.to_xid, &target.xid)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("invalid --to-xid \"%s\": expected a transaction id", config.to_xid));
    }
    target.exclusive = config.exclusive;
  } else if (!config.to_mark.empty()) {
    target.kind = RecoveryTarget::Kind::kMark;
    target.mark = config.to_mark;
  }
  return target;
}

void WarnOnPassword(absl::string_view option, const std::string& conninfo) {
  if (!conninfo.empty() && pg::ConninfoHasPassword(conninfo)) {
    LogWarning(
        "%s holds password=, which other users can see in the process list; use "
        "PGPASSWORD, ~/.pgpass or passfile= instead",
        option);
  }
}

// The first store that answers a listing. With `cache_dir`, a remote store's objects are
// read through an ObjectCache there (below decryption), returned in `*cache`.
absl::StatusOr<std::unique_ptr<sinks::ObjectStore>> OpenStore(const ReplayConfig& config,
                                                              const std::string& cache_dir = "",
                                                              ObjectCache** cache = nullptr) {
  absl::Status last = absl::InvalidArgumentError("--object-store is required");
  for (const std::string& url : config.object_stores) {
    absl::StatusOr<std::unique_ptr<sinks::ObjectStore>> store = sinks::OpenObjectStore(url);
    ObjectCache* cached = nullptr;
    if (store.ok() && !cache_dir.empty() && !absl::StartsWith(url, "file:")) {
      auto wrapped = std::make_unique<ObjectCache>(std::move(*store), cache_dir);
      cached = wrapped.get();
      store = std::unique_ptr<sinks::ObjectStore>(std::move(wrapped));
    }
    if (store.ok()) store = sinks::MaybeDecrypt(std::move(*store), config.encryption_key_file);
    if (!store.ok()) {
      last = store.status();
      if (config.object_stores.size() > 1) LogWarning("%s", last.message());
      continue;
    }
    absl::StatusOr<std::vector<sinks::ObjectInfo>> probe = (*store)->List("");
    if (probe.ok()) {
      if (cache != nullptr) *cache = cached;
      return store;
    }
    last = probe.status();
    if (config.object_stores.size() > 1) LogWarning("%s", last.message());
  }
  return last;
}

absl::Status RunList(const ReplayConfig& config) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store, OpenStore(config));
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::StreamId> streams, FindStreams(store.get()));
  if (streams.empty()) {
    absl::PrintF("object store %s holds no streams\n", store->url());
    return absl::OkStatus();
  }
  for (const sinks::StreamId& stream : streams) {
    if (!config.system_id.empty() && stream.system_id != config.system_id) continue;
    if (!config.slot.empty() && stream.slot != config.slot) continue;
    WALSHIP_ASSIGN_OR_RETURN(StreamHistory history, LoadStreamHistory(store.get(), stream));
    for (const StreamBranch& branch : history.branches) {
      WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog,
                               SegmentCatalog::Load(store.get(), branch.stream));
      WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(store.get(), branch.stream));
      std::string text = bases.bases().empty() && bases.incomplete().empty()
                             ? FormatSummary(Summarize(catalog))
                             : FormatBaseListing(bases, catalog);
      if (history.branches.size() > 1 || branch.timeline != 0) {
        // "stream S/slot" becomes "stream S/slot, timeline N".
        size_t eol = text.find('\n');
        text.insert(eol == std::string::npos ? text.size() : eol,
                    absl::StrFormat(", timeline %d%s", branch.timeline,
                                    branch.stream.branch.empty()
                                        ? ""
                                        : absl::StrCat(" (objects under \"",
                                                       branch.stream.branch, "/\")")));
      }
      absl::PrintF("%s", text);
    }
    absl::PrintF("%s", FormatHistory(history));
  }
  return absl::OkStatus();
}

// Ends a plan on an older timeline's branch at the next timeline's switch point: only the
// transactions both timelines share belong to the path.
void LimitToBranch(RestorePlan* plan, Lsn limit) {
  if (!limit.valid()) return;
  plan->last_commit_lsn = std::min(plan->last_commit_lsn, Lsn(limit.value() - 1));
  while (!plan->segments.empty() &&
         plan->segments.back().trailer.first_commit_lsn() >= limit.value()) {
    plan->segments.pop_back();
  }
}

// The branch (timeline) of the store a restore reads, and where on it the path ends.
struct ChosenBranch {
  sinks::StreamId stream;
  Lsn limit;  // Invalid: none
};

absl::StatusOr<ChosenBranch> ChooseBranch(sinks::ObjectStore* store, const sinks::StreamId& root,
                                          const ReplayConfig& config,
                                          const RecoveryTarget& target) {
  WALSHIP_ASSIGN_OR_RETURN(StreamHistory history, LoadStreamHistory(store, root));
  WALSHIP_ASSIGN_OR_RETURN(std::vector<PathStep> path, TimelinePath(history, config.timeline));
  size_t chosen = path.size() - 1;
  if (path.size() > 1 && target.kind != RecoveryTarget::Kind::kEverything) {
    // The newest branch on the path whose window starts at or before the target.
    for (size_t i = path.size(); i-- > 0;) {
      const sinks::StreamId& stream = path[i].branch->stream;
      WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(store, stream));
      bool fits = false;
      if (target.kind == RecoveryTarget::Kind::kTime) {
        fits = !bases.bases().empty() && bases.bases().front().manifest.snapshot_time_us() <=
                                             absl::ToUnixMicros(target.time);
      } else if (target.kind == RecoveryTarget::Kind::kLsn) {
        fits = !bases.bases().empty() && bases.bases().front().snapshot_lsn() <= target.lsn;
      } else {
        WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog, SegmentCatalog::Load(store, stream));
        absl::StatusOr<RecoveryTarget> resolved = ResolveToLsnTarget(store, catalog, target);
        fits = resolved.ok() && (!path[i].limit.valid() || resolved->lsn < path[i].limit);
      }
      chosen = i;
      if (fits) break;
    }
  }
  const PathStep& step = path[chosen];
  ChosenBranch result{step.branch->stream, step.limit};
  if (!step.limit.valid()) return result;
  // On an older timeline: the target must lie before the switch.
  const StreamBranch& next = *path[chosen + 1].branch;
  bool after = false;
  if (target.kind == RecoveryTarget::Kind::kLsn) after = target.lsn >= step.limit;
  if (target.kind == RecoveryTarget::Kind::kTime) {
    after = next.switch_time_us != 0 && absl::ToUnixMicros(target.time) >= next.switch_time_us;
  }
  if (after) {
    WALSHIP_ASSIGN_OR_RETURN(BaseCatalog next_bases, BaseCatalog::Load(store, next.stream));
    std::string next_start =
        next_bases.bases().empty()
            ? std::string("has no complete base yet")
            : absl::StrFormat("is restorable from its first base at %s (LSN %s)",
                              FormatUtcMicros(next_bases.bases().front().manifest.snapshot_time_us()),
                              next_bases.bases().front().snapshot_lsn().ToString());
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s lies after timeline %d switched to timeline %d at LSN %s (%s), before timeline %d "
        "is restorable: the nearest restorable points are just before the switch (--to-lsn "
        "%s, or a time before %s) and timeline %d, which %s. --timeline %d restores timeline "
        "%d's own history past the switch (what the former primary wrote)",
        target.Describe(), next.parent_timeline, next.timeline, next.switch_lsn.ToString(),
        FormatUtcMicros(next.switch_time_us), next.timeline,
        Lsn(next.switch_lsn.value() - 1).ToString(), FormatUtcMicros(next.switch_time_us),
        next.timeline, next_start, next.parent_timeline, next.parent_timeline));
  }
  return result;
}

absl::Status RunBaseRestore(const ReplayConfig& config, sinks::ObjectStore* store,
                            ObjectCache* cache, const sinks::StreamId& stream,
                            const BaseCatalog& bases, const SegmentCatalog& catalog,
                            Lsn branch_limit, bool* began_writing) {
  WALSHIP_ASSIGN_OR_RETURN(RecoveryTarget target, BuildTarget(config));
  WALSHIP_ASSIGN_OR_RETURN(RecoveryTarget resolved, ResolveToLsnTarget(store, catalog, target));
  WALSHIP_ASSIGN_OR_RETURN(BaseRestorePlan plan, PlanBaseRestore(bases, catalog, resolved));
  LimitToBranch(&plan.changes, branch_limit);
  LogInfo("restoring stream %s/%s (%s) from base %s and %d change segments", stream.system_id,
          stream.slot, target.Describe(), plan.base.snapshot_lsn().ToString(),
          plan.changes.segments.size());
  BaseRestoreOptions options;
  options.force = config.force;
  options.batch_events = config.batch_events;
  options.jobs = config.jobs;
  options.tables = config.tables;
  options.into_schema = config.into_schema;
  options.check_base = config.check_base;
  options.fold_memory_bytes = config.fold_memory_mb << 20;
  options.sequence_margin = config.sequence_margin;
  options.cache = cache;
  options.create_roles = config.create_roles;
  options.began_writing = began_writing;
  options.progress_on_terminal = isatty(STDERR_FILENO) == 1;
  absl::Time start = absl::Now();
  WALSHIP_ASSIGN_OR_RETURN(BaseRestoreResult result,
                           RestoreFromBase(store, stream, plan, config.target, options));
  uint64_t rows = 0;
  for (const TableLoadResult& table : result.tables) rows += table.base_rows;
  absl::PrintF(
      "restored base %s (%d tables, %d rows) and %d transactions (%d events, %d folded into the "
      "load) up to commit LSN %s in %.1fs (schema %.1fs, copy %.1fs, changes %.1fs, indexes and "
      "sequences %.1fs)\n",
      plan.base.snapshot_lsn().ToString(), result.tables.size(), rows,
      result.changes.stats.transactions, result.changes.stats.events, result.folded_events,
      Lsn(std::max(result.changes.stats.last_commit_lsn, plan.base.snapshot_lsn().value()))
          .ToString(),
      absl::ToDoubleSeconds(absl::Now() - start), absl::ToDoubleSeconds(result.schema_time),
      absl::ToDoubleSeconds(result.copy_time), absl::ToDoubleSeconds(result.change_time),
      absl::ToDoubleSeconds(result.finish_time));
  return absl::OkStatus();
}

absl::StatusOr<bool> RunDrillCommand(const ReplayConfig& config) {
  WarnOnPassword("--scratch", config.scratch);
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store, OpenStore(config));
  WALSHIP_ASSIGN_OR_RETURN(sinks::StreamId root,
                           ResolveStream(store.get(), config.system_id, config.slot));
  WALSHIP_ASSIGN_OR_RETURN(StreamHistory history, LoadStreamHistory(store.get(), root));
  sinks::StreamId stream = NewestBranch(history, root);
  DrillOptions options;
  options.jobs = config.jobs;
  if (!config.to_time.empty()) {
    WALSHIP_ASSIGN_OR_RETURN(options.to_time,
                             ParseTargetTime(config.to_time, absl::LocalTimeZone()));
  }
  WALSHIP_ASSIGN_OR_RETURN(DrillReport report,
                           RunDrill(store.get(), stream, config.scratch, options));
  for (const std::string& line : report.lines) absl::PrintF("%s\n", line);
  return report.equal;
}

absl::Status RunStatus(const ReplayConfig& config) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store, OpenStore(config));
  WALSHIP_ASSIGN_OR_RETURN(StoreStatus status,
                           CollectStatus(store.get(), config.system_id, config.slot));
  absl::PrintF("%s", FormatStatus(status, absl::Now()));
  return absl::OkStatus();
}

absl::Status RunRestoreSteps(const ReplayConfig& config, bool* began_writing);

// A restore's error says whether the target was written to.
absl::Status RunRestore(const ReplayConfig& config) {
  bool began_writing = false;
  absl::Status status = RunRestoreSteps(config, &began_writing);
  if (status.ok()) return status;
  if (began_writing) {
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(),
                     "\nTHE TARGET IS INCOMPLETE: the restore stopped after it began writing "
                     "to it. Drop the target database (with --into-schema, that schema) and "
                     "restore again once the cause above is fixed."));
  }
  return absl::Status(status.code(),
                      absl::StrCat(status.message(), "\nNothing was written to the target."));
}

absl::Status RunRestoreSteps(const ReplayConfig& config, bool* began_writing) {
  WarnOnPassword("--target", config.target);
  WALSHIP_ASSIGN_OR_RETURN(RecoveryTarget target, BuildTarget(config));
  // Remote objects are fetched into a work directory of the restore's own, checked there
  // before the first write, and read from there; it is removed when the restore ends.
  WALSHIP_ASSIGN_OR_RETURN(RestoreWorkDir work, RestoreWorkDir::Create(config.work_dir));
  ObjectCache* cache = nullptr;
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<sinks::ObjectStore> store,
                           OpenStore(config, work.path(), &cache));
  WALSHIP_ASSIGN_OR_RETURN(sinks::StreamId root,
                           ResolveStream(store.get(), config.system_id, config.slot));
  WALSHIP_ASSIGN_OR_RETURN(ChosenBranch branch, ChooseBranch(store.get(), root, config, target));
  const sinks::StreamId& stream = branch.stream;
  if (!stream.branch.empty() || branch.limit.valid()) {
    LogInfo("following branch \"%s\"%s", stream.branch.empty() ? "(first timeline)" : stream.branch,
            branch.limit.valid()
                ? absl::StrCat(" up to the switch at ", branch.limit.ToString())
                : std::string());
  }
  WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog catalog, SegmentCatalog::Load(store.get(), stream));
  WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(store.get(), stream));
  if (!bases.bases().empty()) {
    return RunBaseRestore(config, store.get(), cache, stream, bases, catalog, branch.limit,
                          began_writing);
  }
  if (!config.into_schema.empty()) {
    return absl::FailedPreconditionError("--into-schema needs a base snapshot; none is stored");
  }
  WALSHIP_ASSIGN_OR_RETURN(target, ResolveMarkTarget(catalog, target));
  WALSHIP_ASSIGN_OR_RETURN(RestorePlan plan, PlanRestore(catalog, target));
  LimitToBranch(&plan, branch.limit);
  LogInfo("restoring stream %s/%s (%s): %d segments", stream.system_id, stream.slot,
          target.Describe(), plan.segments.size());
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<pg::PgConnection> conn,
                           pg::PgConnection::Connect(config.target, pg::ConnectionKind::kNormal));
  RestoreOptions options;
  options.applier.force = config.force;
  options.applier.batch_events = config.batch_events;
  options.progress_on_terminal = isatty(STDERR_FILENO) == 1;
  *began_writing = true;  // into the target's existing tables (no pre-flight without a base)
  WALSHIP_ASSIGN_OR_RETURN(RestoreResult result,
                           Restore(store.get(), std::move(plan), conn.get(), options));
  absl::PrintF("restored %d transactions (%d events, %d duplicates dropped) up to commit LSN %s",
               result.stats.transactions, result.stats.events, result.stats.duplicates,
               Lsn(result.stats.last_commit_lsn).ToString());
  if (result.stats.last_commit_time_us != 0) {
    absl::PrintF(", committed %s", FormatUtcMicros(result.stats.last_commit_time_us));
  }
  absl::PrintF("\n");
  return absl::OkStatus();
}

absl::StatusOr<bool> RunVerify(const ReplayConfig& config) {
  WarnOnPassword("--source", config.source);
  WarnOnPassword("--target", config.target);
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<pg::PgConnection> source,
                           pg::PgConnection::Connect(config.source, pg::ConnectionKind::kNormal));
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<pg::PgConnection> target,
                           pg::PgConnection::Connect(config.target, pg::ConnectionKind::kNormal));
  VerifyOptions options;
  options.tables = config.tables;
  WALSHIP_ASSIGN_OR_RETURN(VerifyResult result, Verify(source.get(), target.get(), options));
  if (result.equal()) {
    absl::PrintF("equal (%d tables)\n", result.tables_compared);
    return true;
  }
  for (const std::string& difference : result.differences) absl::PrintF("%s\n", difference);
  return false;
}

void AddStoreOptions(CLI::App* command, ReplayConfig* config) {
  command
      ->add_option("--object-store", config->object_stores,
                   "object store URL (file:///DIR, s3://BUCKET/PREFIX); repeatable, the "
                   "first that answers is used")
      ->required()
      ->take_all();
  command->add_option("--system-id", config->system_id,
                      "the stream's PostgreSQL system identifier (when several are stored)");
  command->add_option("--slot", config->slot, "the stream's slot name (when several are stored)");
  command->add_option("--encryption-key-file", config->encryption_key_file,
                      "decrypt objects with the keys in FILE (KEYID:BASE64 lines, mode 600); "
                      "else WALSHIP_ENCRYPTION_KEY when set");
}

void AddCommonOptions(CLI::App* app, ReplayConfig* config) {
  app->add_option("--log-format", config->log_format, "log line format")
      ->check(CLI::IsMember({"text", "json"}));
  app->set_config("--config", "", "read options from a file (same keys as the options)");
}

// Adds the options of one command ("list", "restore", "verify") to `app`.
void DefineCommand(CLI::App* app, const std::string& command, ReplayConfig* config) {
  if (command == "list" || command == "status") {
    AddStoreOptions(app, config);
  } else if (command == "restore") {
    AddStoreOptions(app, config);
    app->add_option("--target", config->target, "conninfo of the database to restore into")
        ->required();
    app->add_option("--timeline", config->timeline,
                    "follow this timeline's history (after a failover the store keeps both); "
                    "default: the newest, like recovery_target_timeline = 'latest'")
        ->check(CLI::Range(1u, 0xFFFFFFFFu));
    CLI::Option* to_lsn =
        app->add_option("--to-lsn", config->to_lsn,
                        "include transactions committed at or before this LSN (16/B374D848)");
    CLI::Option* to_time =
        app->add_option("--to-time", config->to_time,
                        "stop before the first transaction committed after this time (RFC 3339, or "
                        "\"YYYY-MM-DD HH:MM:SS\" in local time)");
    CLI::Option* to_xid =
        app->add_option("--to-xid", config->to_xid, "stop after this transaction id");
    CLI::Option* to_mark = app->add_option(
        "--to-mark", config->to_mark,
        "stop right after the transaction that wrote pg_logical_emit_message(true, 'walship', "
        "'mark:NAME')");
    to_lsn->excludes(to_time)->excludes(to_xid)->excludes(to_mark);
    to_time->excludes(to_xid)->excludes(to_mark);
    to_xid->excludes(to_mark);
    app->add_option("--jobs", config->jobs, "parallel COPY connections for base rows")
        ->check(CLI::Range(1, 64));
    CLI::Option* tables =
        app->add_option("--tables", config->tables, "only these tables (schema.table or table)")
            ->delimiter(',');
    app->add_option("--into-schema", config->into_schema,
                    "with --tables: restore them into this new schema, touching nothing else")
        ->needs(tables);
    app->add_flag("--check-base", config->check_base,
                  "compare each table loaded from the base with the manifest's checksum");
    app->add_option("--fold-memory-mb", config->fold_memory_mb,
                    "memory for folding the change window into the base load (rows go in once, "
                    "in their final state); past it the rest applies as statements; 0: never")
        ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));
    app->add_flag("--create-roles", config->create_roles,
                  "create the roles the base's privileges name that the target server lacks, "
                  "without passwords (without it, such a restore is refused before writing)");
    app->add_option("--work-dir", config->work_dir,
                    "where a restore from a remote store fetches and checks the objects it "
                    "reads, before its first write (a new directory inside it, removed at the "
                    "end; default $TMPDIR or /tmp)");
    app->add_option("--sequence-margin", config->sequence_margin,
                    "when the target is past the agent's last recording of the free-standing "
                    "sequences, set each this many increments past its recorded value")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
    app->add_flag("--exclusive", config->exclusive, "with --to-xid: stop just before it")
        ->needs(to_xid);
    app->add_flag("--force", config->force, "empty target tables that hold rows");
    app->add_option("--batch-events", config->batch_events,
                    "events per target transaction (a source transaction is never split)")
        ->check(CLI::PositiveNumber);
  } else if (command == "drill") {
    AddStoreOptions(app, config);
    app->add_option("--scratch", config->scratch, "conninfo of an empty scratch database")
        ->required();
    app->add_option("--to-time", config->to_time, "also restore to this time and report rows");
    app->add_option("--jobs", config->jobs, "parallel COPY connections for base rows")
        ->check(CLI::Range(1, 64));
  } else if (command == "verify") {
    app->add_option("--source", config->source, "conninfo of the reference database")->required();
    app->add_option("--target", config->target, "conninfo of the restored database")->required();
    app->add_option("--tables", config->tables, "only these tables (schema.table)")->take_all();
  }
}

constexpr const char* kDescription =
    "walship-replay: restore a PostgreSQL database to a point in time from the changes "
    "walship stored";
const std::vector<std::pair<std::string, std::string>>& Commands() {
  static const auto* commands = new std::vector<std::pair<std::string, std::string>>{
      {"list", "show the stored streams and what they cover"},
      {"status", "one-screen view of the store: last durable position, heartbeat, window, base"},
      {"restore", "apply stored changes to a target database"},
      {"verify", "compare every table of two databases row by row as text"},
      {"drill", "restore the previous base and changes into a scratch database and compare"}};
  return *commands;
}

// Parses the command line into `config`. The chosen command's options sit on the main
// app, so a --config file holds the same flat keys as the options ("target = ...").
// Returns an exit code when the process should stop (help: 0, usage error: 2).
std::optional<int> ParseCommandLine(int argc, char** argv, ReplayConfig* config) {
  bool known = argc >= 2 && std::any_of(Commands().begin(), Commands().end(),
                                        [&](const auto& c) { return c.first == argv[1]; });
  std::unique_ptr<CLI::App> app;
  if (known) {
    config->command = argv[1];
    app =
        std::make_unique<CLI::App>(kDescription, absl::StrCat("walship-replay ", config->command));
    AddCommonOptions(app.get(), config);
    DefineCommand(app.get(), config->command, config);
  } else {
    // No or unknown command: an overview app for --help and the usage error.
    app = std::make_unique<CLI::App>(kDescription, "walship-replay");
    AddCommonOptions(app.get(), config);
    app->require_subcommand(1, 1);
    for (const auto& [name, help] : Commands()) {
      DefineCommand(app->add_subcommand(name, help), name, config);
    }
  }
  try {
    if (known) {
      app->parse(argc - 1, argv + 1);
    } else {
      app->parse(argc, argv);
    }
  } catch (const CLI::CallForHelp& e) {
    return app->exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app->exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "walship-replay: error: %s (see --help)\n", e.what());
    return 2;
  }
  if (!known) {
    // Reached only through a top-level --config with [command] sections.
    for (const auto& [name, help] : Commands()) {
      if (app->got_subcommand(name)) config->command = name;
    }
  }
  return std::nullopt;
}

int Main(int argc, char** argv) {
  ReplayConfig config;
  if (std::optional<int> exit_code = ParseCommandLine(argc, argv, &config)) return *exit_code;
  ConfigureLog(LogLevel::kInfo, config.log_format == "json" ? LogFormat::kJson : LogFormat::kText,
               "replay");

  absl::Status status;
  int ok_code = 0;
  if (config.command == "list") {
    status = RunList(config);
  } else if (config.command == "status") {
    status = RunStatus(config);
  } else if (config.command == "restore") {
    status = RunRestore(config);
  } else if (config.command == "drill") {
    absl::StatusOr<bool> equal = RunDrillCommand(config);
    status = equal.status();
    if (equal.ok() && !*equal) ok_code = 1;
  } else {
    absl::StatusOr<bool> equal = RunVerify(config);
    status = equal.status();
    if (equal.ok() && !*equal) ok_code = 1;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "walship-replay: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return ok_code;
}

}  // namespace
}  // namespace walship::replay

int main(int argc, char** argv) { return walship::replay::Main(argc, argv); }
