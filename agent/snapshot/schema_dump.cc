// pg_dump as a child process: posix_spawn with both pipes drained through poll().
#include "agent/snapshot/schema_dump.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/pg/copy.h"

extern char** environ;

namespace walship::agent::snapshot {
namespace {

// Splits `conninfo` into a password-free conninfo string and the password (if any).
absl::Status SplitPassword(absl::string_view conninfo, std::string* without,
                           std::string* password) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> options =
      pg::ParseConninfo(conninfo);
  if (!options.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid source connection string: ", options.status().message()));
  }
  std::vector<std::string> parts;
  for (const auto& [key, value] : *options) {
    if (key == "password") {
      *password = value;
      continue;
    }
    if (key == "replication") continue;
    parts.push_back(
        absl::StrCat(key, "='", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}), "'"));
  }
  *without = absl::StrJoin(parts, " ");
  return absl::OkStatus();
}

}  // namespace

std::string StripPsqlMetaCommands(absl::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  bool skipping_trigger = false;
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    if (absl::StartsWith(line, "\\restrict ") || absl::StartsWith(line, "\\unrestrict ")) {
      continue;
    }
    // Our own DDL-capturing event triggers (their functions live in the excluded schema
    // "walship"): a restore target must not get them. pg_dump writes each as
    // "CREATE EVENT TRIGGER name ON event\n   EXECUTE FUNCTION walship.f();".
    if (skipping_trigger) {
      if (absl::EndsWith(line, ";")) skipping_trigger = false;
      continue;
    }
    if (absl::StartsWith(line, "CREATE EVENT TRIGGER walship_ddl_capture ") ||
        absl::StartsWith(line, "CREATE EVENT TRIGGER walship_ddl_drop ") ||
        absl::StartsWith(line, "ALTER EVENT TRIGGER walship_ddl_capture ") ||
        absl::StartsWith(line, "ALTER EVENT TRIGGER walship_ddl_drop ")) {
      skipping_trigger = !absl::EndsWith(line, ";");
      continue;
    }
    out.append(line.data(), line.size());
    out.push_back('\n');
  }
  if (!out.empty()) out.pop_back();  // StrSplit yields one more piece than there are '\n's
  return out;
}

std::string DefaultPgDumpPath() {
  constexpr char kDebianPath[] = "/usr/lib/postgresql/15/bin/pg_dump";
  if (access(kDebianPath, X_OK) == 0) return kDebianPath;
  return "pg_dump";
}

absl::StatusOr<std::string> DumpSchemaSection(const std::string& pg_dump_path,
                                              absl::string_view conninfo,
                                              absl::string_view snapshot,
                                              absl::string_view section) {
  std::string dsn, password;
  if (absl::Status status = SplitPassword(conninfo, &dsn, &password); !status.ok()) {
    return status;
  }
  // The base's own connection holds every table's lock: a lock wait in pg_dump is a DDL
  // statement queued behind it, so it must not last (kAborted, and the base is retaken).
  std::vector<std::string> args = {pg_dump_path,
                                   "--schema-only",
                                   "--no-owner",
                                   "--no-publications",
                                   "--no-subscriptions",
                                   "--exclude-schema=walship",
                                   "--lock-wait-timeout=2s",
                                   absl::StrCat("--snapshot=", snapshot),
                                   absl::StrCat("--section=", section),
                                   "-d",
                                   dsn};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment(environ, password);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe for pg_dump");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int saved = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::ErrnoToStatus(saved, "pipe for pg_dump");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = 0;
  int spawn_error =
      posix_spawnp(&pid, pg_dump_path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  absl::Cleanup close_reads = [&] {
    close(out_pipe[0]);
    close(err_pipe[0]);
  };
  if (spawn_error != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("cannot run \"%s\": %s (install the PostgreSQL 15 client tools)",
                        pg_dump_path, strerror(spawn_error)));
  }
  std::string out, err;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? out : err).append(buffer, static_cast<size_t>(n));
    }
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    // A lock wait that timed out, or a table dropped since the snapshot: a new snapshot.
    bool changed =
        absl::StrContains(err, "could not obtain lock") ||
        // pg_dump's --lock-wait-timeout is a statement_timeout around its LOCK TABLE.
        (absl::StrContains(err, "statement timeout") && absl::StrContains(err, "LOCK TABLE")) ||
        (absl::StrContains(err, "relation \"") && absl::StrContains(err, "does not exist"));
    return absl::Status(
        changed ? absl::StatusCode::kAborted : absl::StatusCode::kUnavailable,
        absl::StrFormat("pg_dump --section=%s failed (%s): %s", section,
                        WIFEXITED(wstatus) ? absl::StrCat("exit status ", WEXITSTATUS(wstatus))
                                           : std::string("killed by a signal"),
                        absl::StripAsciiWhitespace(err)));
  }
  return StripPsqlMetaCommands(out);
}

std::vector<std::string> ChildEnvironment(char** env, const std::string& password) {
  std::vector<std::string> kept;
  for (char** e = env; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    absl::string_view name = entry.substr(0, entry.find('='));
    bool needed = absl::StartsWith(name, "PG") || absl::StartsWith(name, "LC_") ||
                  name == "PATH" || name == "HOME" || name == "USER" || name == "LANG" ||
                  name == "TZ" || name == "TMPDIR";
    if (!needed || (!password.empty() && name == "PGPASSWORD")) continue;
    kept.emplace_back(entry);
  }
  if (!password.empty()) kept.push_back(absl::StrCat("PGPASSWORD=", password));
  return kept;
}

}  // namespace walship::agent::snapshot
