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
#include "proto/core/status_macros.h"
#include "replay/commands/commands.h"
#include "replay/commands/replay_config.h"

namespace walship::replay {
namespace {

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
    app->add_option("--toast-compression", config->toast_compression,
                    "how restored values stored out of line (TOAST) are compressed in columns "
                    "without a method of their own: lz4 (2-3x faster to load than pglz, the same "
                    "values), pglz, or server (the target's default_toast_compression)")
        ->check(CLI::IsMember({"lz4", "pglz", "server"}));
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
