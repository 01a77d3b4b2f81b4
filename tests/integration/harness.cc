// Integration test helpers.
#include "tests/integration/harness.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/layout.h"

namespace walship::testing {

std::string AgentPath() { return WALSHIP_AGENT_PATH; }
std::string ReplayPath() { return WALSHIP_REPLAY_PATH; }

absl::StatusOr<TableRows> CaptureTables(PgCluster& pg, absl::string_view db) {
  WALSHIP_ASSIGN_OR_RETURN(
      std::string names,
      pg.Psql(db,
              "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
              "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
              "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
              "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"));
  // One psql for every table: each table's rows follow a line holding a tab and its name
  // (COPY's text format writes a tab in a value as \t, so no row line starts with one).
  // ROW(t.*): a column named "t" would shadow the bare alias.
  std::string script;
  std::vector<std::string> tables;
  for (absl::string_view name : absl::StrSplit(names, '\n', absl::SkipEmpty())) {
    tables.emplace_back(name);
    absl::StrAppend(&script, "SELECT E'\\t' || $walship$", name, "$walship$;\n",
                    "COPY (SELECT s.r FROM (SELECT ROW(t.*)::text AS r FROM ", name,
                    " t) s ORDER BY s.r COLLATE \"C\") TO STDOUT;\n");
  }
  TableRows rows;
  if (tables.empty()) return rows;
  WALSHIP_ASSIGN_OR_RETURN(std::string text, pg.Psql(db, script));
  std::vector<std::string>* current = nullptr;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "\t")) {
      current = &rows[std::string(line)];
      continue;
    }
    if (current == nullptr) return absl::InternalError("capturing tables: rows before a name");
    current->emplace_back(line);
  }
  for (const std::string& table : tables) rows[table];  // empty tables too
  return rows;
}

std::string FirstDifference(const TableRows& expected, const TableRows& actual) {
  for (const auto& [table, rows] : expected) {
    auto it = actual.find(table);
    if (it == actual.end()) return absl::StrCat("table ", table, " is missing");
    const auto& got = it->second;
    for (size_t i = 0; i < std::max(rows.size(), got.size()); ++i) {
      std::string want = i < rows.size() ? rows[i] : "<none>";
      std::string have = i < got.size() ? got[i] : "<none>";
      if (want != have) {
        return absl::StrFormat("%s (%d vs %d rows), row %d: expected %s, got %s", table,
                               rows.size(), got.size(), i, want.substr(0, 300),
                               have.substr(0, 300));
      }
    }
  }
  for (const auto& [table, rows] : actual) {
    if (!expected.contains(table)) return absl::StrCat("unexpected table ", table);
  }
  return "";
}

absl::StatusOr<Lsn> CurrentLsn(PgCluster& pg, absl::string_view db) {
  WALSHIP_ASSIGN_OR_RETURN(std::string text, pg.Query(db, "SELECT pg_current_wal_lsn()"));
  return Lsn::Parse(text);
}

absl::StatusOr<Lsn> SlotConfirmed(PgCluster& pg, absl::string_view db, absl::string_view slot) {
  WALSHIP_ASSIGN_OR_RETURN(
      std::string text,
      pg.Query(db, absl::StrFormat("SELECT coalesce(confirmed_flush_lsn, '0/0') FROM "
                                   "pg_replication_slots WHERE slot_name = '%s'",
                                   slot)));
  if (text.empty()) return Lsn();
  return Lsn::Parse(text);
}

absl::Status WaitForSlot(PgCluster& pg, absl::string_view db, absl::string_view slot, Lsn lsn,
                         absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  Lsn confirmed;
  while (absl::Now() < deadline) {
    WALSHIP_ASSIGN_OR_RETURN(confirmed, SlotConfirmed(pg, db, slot));
    if (confirmed >= lsn) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrFormat("slot %s confirmed only %s, waited for %s",
                                                     slot, confirmed.ToString(), lsn.ToString()));
}

absl::StatusOr<std::string> DumpSchema(PgCluster& pg, absl::string_view db) {
  WALSHIP_ASSIGN_OR_RETURN(
      SubprocessResult result,
      Subprocess::Run({"/usr/bin/pg_dump", "--schema-only", "--no-publications",
                       "--no-subscriptions", "-h", pg.host(), "-p", std::to_string(pg.port()), "-U",
                       "postgres", std::string(db)}));
  if (!result.ok()) return absl::InternalError("pg_dump failed: " + result.stderr_text);
  return result.stdout_text;
}

absl::StatusOr<std::string> DumpTableSchema(PgCluster& pg, absl::string_view db,
                                            absl::string_view pattern) {
  WALSHIP_ASSIGN_OR_RETURN(
      SubprocessResult result,
      Subprocess::Run({"/usr/bin/pg_dump", "--schema-only", "--no-publications",
                       "--no-subscriptions", "-t", std::string(pattern), "-h", pg.host(), "-p",
                       std::to_string(pg.port()), "-U", "postgres", std::string(db)}));
  if (!result.ok()) return absl::InternalError("pg_dump -t failed: " + result.stderr_text);
  return result.stdout_text;
}

absl::Status CreateDatabaseWithSchema(PgCluster& pg, absl::string_view db,
                                      absl::string_view schema_sql) {
  WALSHIP_RETURN_IF_ERROR(pg.CreateDatabase(db));
  WALSHIP_ASSIGN_OR_RETURN(
      SubprocessResult result,
      Subprocess::Run({"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.host(), "-p",
                       std::to_string(pg.port()), "-U", "postgres", "-d", std::string(db)},
                      absl::Seconds(60), {}, schema_sql));
  if (!result.ok()) return absl::InternalError("loading schema failed: " + result.stderr_text);
  return absl::OkStatus();
}

std::vector<std::string> StoredSegments(const std::string& store_dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(store_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string path = it->path().string();
    if (it->is_regular_file() && sinks::ParseWalSegmentKey(path).has_value() &&
        path.find("/wal/") != std::string::npos) {
      paths.push_back(path);
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

Lsn MaxStoredEnd(const std::string& store_dir) {
  Lsn max;
  for (const std::string& path : StoredSegments(store_dir)) {
    max = std::max(max, sinks::ParseWalSegmentKey(path)->last_end);
  }
  return max;
}

absl::Status WaitForBase(const std::string& store_dir, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(store_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() == "manifest.pb") return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError("no base snapshot appeared in " + store_dir);
}

absl::StatusOr<int> WaitForMetricsPort(const std::string& log_path, Subprocess& agent,
                                       absl::Duration timeout) {
  const std::string marker = "metrics and /healthz on http://127.0.0.1:";
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::string log = ReadFile(log_path);
    size_t at = log.find(marker);
    if (at != std::string::npos) {
      size_t end = log.find_first_not_of("0123456789", at + marker.size());
      int port = 0;
      if (!absl::SimpleAtoi(log.substr(at + marker.size(), end - at - marker.size()), &port) ||
          port <= 0) {
        return absl::DataLossError("unreadable metrics address in the agent's log: " + log);
      }
      return port;
    }
    if (absl::Now() > deadline || !agent.Running()) {
      return absl::DeadlineExceededError("the agent logged no metrics address: " + log);
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartAgent(const std::vector<std::string>& args,
                                                       const std::string& log_path,
                                                       std::map<std::string, std::string> env) {
  std::vector<std::string> argv = {AgentPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions options;
  options.env = std::move(env);
  options.stdout_mode = StreamMode::kFile;
  options.stdout_path = log_path;
  options.stderr_mode = StreamMode::kFile;
  options.stderr_path = log_path;
  return Subprocess::Start(argv, options);
}

absl::StatusOr<SubprocessResult> RunAgent(const std::vector<std::string>& args,
                                          absl::Duration timeout,
                                          std::map<std::string, std::string> env) {
  std::vector<std::string> argv = {AgentPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions options;
  options.env = std::move(env);
  return Subprocess::Run(argv, timeout, options);
}

absl::StatusOr<SubprocessResult> RunReplay(const std::vector<std::string>& args,
                                           absl::Duration timeout) {
  std::vector<std::string> argv = {ReplayPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Subprocess::Run(argv, timeout);
}

std::string MakeTempDir(absl::string_view tag) {
  std::string pattern = absl::StrCat("/tmp/walship-", tag, "-XXXXXX");
  char* dir = mkdtemp(pattern.data());
  return dir ? std::string(dir) : std::string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void CrmStoreTest::SetUp() {
  absl::StatusOr<std::unique_ptr<PgCluster>> pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  pg_ = std::move(*pg);
  absl::Status created = pg_->CreateDatabase("crm");
  ASSERT_TRUE(created.ok()) << created;
  absl::StatusOr<std::string> schema = pg_->Psql("crm", schema_sql_);
  ASSERT_TRUE(schema.ok()) << schema.status();
  store_ = MakeTempDir("store");
  work_ = MakeTempDir("work");
}

void CrmStoreTest::TearDown() {
  if (store_.empty()) return;
  if (HasFailure()) {
    std::cerr << "kept for inspection: store " << store_ << ", work " << work_ << "\n";
    return;
  }
  std::filesystem::remove_all(store_);
  std::filesystem::remove_all(work_);
}

WalsenderSampler::WalsenderSampler(PgCluster& pg, std::string db, std::string slot)
    : pg_(pg), db_(std::move(db)), slot_(std::move(slot)), thread_([this] {
        while (!done_.load()) {
          auto pid = pg_.Query(db_, absl::StrCat("SELECT coalesce(active_pid::text, '') FROM "
                                                 "pg_replication_slots WHERE slot_name = '",
                                                 slot_, "'"));
          if (pid.ok() && !pid->empty()) {
            absl::MutexLock lock(&mu_);
            if (pids_.empty() || pids_.back() != *pid) pids_.push_back(*pid);
          }
          absl::SleepFor(absl::Milliseconds(100));
        }
      }) {}

WalsenderSampler::~WalsenderSampler() { Stop(); }

std::vector<std::string> WalsenderSampler::Stop() {
  done_.store(true);
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  return pids_;
}

}  // namespace walship::testing
