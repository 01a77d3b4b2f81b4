// PgCluster: initdb once into a per-process template, copy it per cluster, drive pg_ctl.
#include "tests/testing/pg_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "proto/core/status_macros.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

constexpr char kDefaultBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr absl::Duration kCommandTimeout = absl::Seconds(120);

std::string BinDir() {
  const char* dir = getenv("WALSHIP_PG_BINDIR");
  return dir != nullptr && *dir != '\0' ? dir : kDefaultBinDir;
}

bool IsRoot() { return geteuid() == 0; }

// Runs a server-side command, as the `postgres` user when we are root.
absl::StatusOr<SubprocessResult> RunAsServerUser(std::vector<std::string> argv) {
  if (IsRoot()) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  SubprocessOptions options;
  options.working_dir = "/tmp";  // the postgres user may not be able to enter our cwd
  return Subprocess::Run(argv, kCommandTimeout, options);
}

absl::Status CheckResult(const absl::StatusOr<SubprocessResult>& result, absl::string_view what) {
  if (!result.ok()) return Annotate(result.status(), what);
  if (!result->ok()) {
    return absl::InternalError(absl::StrCat(what, " failed (", result->Describe(),
                                            "): ", result->stderr_text, result->stdout_text));
  }
  return absl::OkStatus();
}

// A short private directory under /tmp, reachable (755) and, as root, owned by postgres.
absl::StatusOr<std::string> MakePrivateDir(const char* pattern) {
  std::string dir = pattern;
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("pg cluster: mkdtemp \"", pattern, "\""));
  }
  if (chmod(dir.c_str(), 0755) != 0) return absl::ErrnoToStatus(errno, "pg cluster: chmod");
  if (IsRoot()) {
    struct passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "pg cluster: running as root needs a \"postgres\" user to run the server "
          "(install postgresql-15)");
    }
    if (chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::ErrnoToStatus(errno, "pg cluster: chown");
    }
  }
  return dir;
}

// FNV-1a: a hash that is the same in every process (std::hash and absl::Hash need not be).
uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

// The initdb'd data directory every cluster copies. ctest runs each test case in its own
// process, so the template is shared between processes: it is built in a private directory
// and renamed into place once complete, under a name keyed by the server version, bin
// directory and user; a complete template is never modified. Kept between runs.
class Template {
 public:
  static absl::StatusOr<std::string> DataDir() {
    static std::mutex mu;
    static std::string* data_dir = nullptr;
    std::lock_guard<std::mutex> lock(mu);
    if (data_dir != nullptr) return *data_dir;
    if (access((BinDir() + "/initdb").c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "pg cluster: no \"", BinDir(), "/initdb\" (install postgresql-15 or set "
          "WALSHIP_PG_BINDIR)"));
    }
    auto version = Subprocess::Run({BinDir() + "/postgres", "-V"}, kCommandTimeout);
    WALSHIP_RETURN_IF_ERROR(CheckResult(version, "postgres -V"));
    std::string shared = absl::StrCat(
        "/tmp/walship-pgtpl-",
        absl::Hex(StableHash(absl::StrCat(BinDir(), "|", version->stdout_text, "|", geteuid())),
                  absl::kZeroPad16));
    std::string shared_data = shared + "/data";
    if (access((shared_data + "/PG_VERSION").c_str(), R_OK) == 0) {
      data_dir = new std::string(shared_data);
      return *data_dir;
    }
    WALSHIP_ASSIGN_OR_RETURN(std::string dir, MakePrivateDir("/tmp/wstpl.XXXXXX"));
    absl::Status initdb = CheckResult(
        RunAsServerUser({BinDir() + "/initdb", "-D", dir + "/data", "-A", "trust", "-U",
                         "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                         "--no-instructions"}),
        "initdb");
    if (initdb.ok() && rename(dir.c_str(), shared.c_str()) == 0) {
      data_dir = new std::string(shared_data);
      return *data_dir;
    }
    // initdb failed, or another process installed its template first: use that one.
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    if (!initdb.ok()) return initdb;
    if (access((shared_data + "/PG_VERSION").c_str(), R_OK) != 0) {
      return absl::InternalError(absl::StrCat("pg cluster: cannot install the template \"",
                                              shared, "\" (remove it if it is stale)"));
    }
    data_dir = new std::string(shared_data);
    return *data_dir;
  }
};

absl::StatusOr<int> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "pg cluster: socket");
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, "pg cluster: picking a free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string QuoteSetting(absl::string_view value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"'", "''"}, {"\\", "\\\\"}}), "'");
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start(const PgClusterOptions& options) {
  WALSHIP_ASSIGN_OR_RETURN(std::string template_data, Template::DataDir());
  WALSHIP_ASSIGN_OR_RETURN(int port, PickFreePort());
  WALSHIP_ASSIGN_OR_RETURN(std::string dir, MakePrivateDir("/tmp/wspg.XXXXXX"));
  // From here on the destructor cleans up whatever exists.
  std::unique_ptr<PgCluster> cluster(new PgCluster(dir, port));
  // As root, `cp -a` keeps the postgres ownership of the template.
  WALSHIP_RETURN_IF_ERROR(CheckResult(
      Subprocess::Run({"cp", "-a", template_data, cluster->DataDir()}, kCommandTimeout),
      "copying the template data directory"));
  WALSHIP_RETURN_IF_ERROR(cluster->WriteSettings(options));
  WALSHIP_RETURN_IF_ERROR(cluster->StartServer());
  return cluster;
}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::StartStandby(const PgCluster& primary) {
  WALSHIP_ASSIGN_OR_RETURN(int port, PickFreePort());
  WALSHIP_ASSIGN_OR_RETURN(std::string dir, MakePrivateDir("/tmp/wspg.XXXXXX"));
  std::unique_ptr<PgCluster> cluster(new PgCluster(dir, port));
  WALSHIP_RETURN_IF_ERROR(CheckResult(
      RunAsServerUser({BinDir() + "/pg_basebackup", "-D", cluster->DataDir(), "-R", "-X",
                       "stream", "-c", "fast", "-d",
                       absl::StrCat("host=", primary.dir_, " port=", primary.port_,
                                    " user=postgres")}),
      "pg_basebackup"));
  WALSHIP_RETURN_IF_ERROR(cluster->WriteSettings(PgClusterOptions{}));
  WALSHIP_RETURN_IF_ERROR(cluster->StartServer());
  return cluster;
}

absl::Status PgCluster::Promote() {
  return CheckResult(
      RunAsServerUser({BinDir() + "/pg_ctl", "-D", DataDir(), "-w", "-t", "60", "promote"}),
      "pg_ctl promote");
}

PgCluster::~PgCluster() {
  if (running_) Stop(ShutdownMode::kImmediate).IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status PgCluster::WriteSettings(const PgClusterOptions& options) {
  std::map<std::string, std::string> settings = {
      {"listen_addresses", options.listen_tcp ? "127.0.0.1" : ""},
      {"unix_socket_directories", dir_},
      {"port", absl::StrCat(port_)},
      {"wal_level", "logical"},
      {"fsync", "off"},
      {"full_page_writes", "off"},
      {"max_prepared_transactions", "10"},
      {"logical_decoding_work_mem", options.logical_decoding_work_mem},
      {"max_wal_senders", absl::StrCat(options.max_wal_senders)},
      {"max_replication_slots", absl::StrCat(options.max_replication_slots)},
  };
  for (const auto& [name, value] : options.settings) settings[name] = value;
  std::ofstream conf(DataDir() + "/postgresql.conf", std::ios::app);
  conf << "\n# walship test cluster\n";
  for (const auto& [name, value] : settings) conf << name << " = " << QuoteSetting(value) << "\n";
  conf.close();
  if (!conf) return absl::InternalError("pg cluster: cannot write postgresql.conf");
  return absl::OkStatus();
}

absl::Status PgCluster::StartServer() {
  absl::Status started =
      CheckResult(RunAsServerUser({BinDir() + "/pg_ctl", "-D", DataDir(), "-l",
                                   dir_ + "/server.log", "-w", "-t", "60", "start"}),
                  "pg_ctl start");
  if (!started.ok()) {
    std::string log = ServerLog();
    if (log.size() > 3000) log = log.substr(log.size() - 3000);
    return absl::UnavailableError(absl::StrCat(started.message(), "; server log: ", log));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PgCluster::Stop(ShutdownMode mode) {
  if (!running_) return absl::OkStatus();
  absl::Status stopped = CheckResult(
      RunAsServerUser({BinDir() + "/pg_ctl", "-D", DataDir(), "-m",
                       mode == ShutdownMode::kImmediate ? "immediate" : "fast", "-w", "-t", "60",
                       "stop"}),
      "pg_ctl stop");
  if (stopped.ok()) running_ = false;
  return stopped;
}

absl::Status PgCluster::Restart(ShutdownMode mode) {
  WALSHIP_RETURN_IF_ERROR(Stop(mode));
  return StartServer();
}

std::string PgCluster::ConnInfo(absl::string_view dbname) const {
  return absl::StrCat("host=", dir_, " port=", port_, " user=postgres dbname=", dbname);
}

std::string PgCluster::ReplicationConnInfo(absl::string_view dbname) const {
  return absl::StrCat(ConnInfo(dbname), " replication=database");
}

absl::Status PgCluster::CreateDatabase(absl::string_view name) {
  if (name.empty() || absl::StrContains(name, "\"")) {
    return absl::InvalidArgumentError(absl::StrCat("pg cluster: bad database name \"", name, "\""));
  }
  return Psql("postgres", absl::StrCat("CREATE DATABASE \"", name, "\";")).status();
}

absl::StatusOr<std::string> PgCluster::Psql(absl::string_view dbname, absl::string_view sql) {
  // The SQL goes through stdin (-f -) so that every statement runs on its own, as typed.
  std::string script = sql.empty() ? std::string(1, ';') : std::string(sql);
  auto result = Subprocess::Run({BinDir() + "/psql", "-X", "-A", "-t", "-q", "-v",
                                 "ON_ERROR_STOP=1", "-d", ConnInfo(dbname), "-f", "-"},
                                kCommandTimeout, {}, script);
  if (!result.ok()) return Annotate(result.status(), "psql");
  if (!result->ok()) {
    return absl::InternalError(
        absl::StrCat("psql in \"", dbname, "\" failed (", result->Describe(), "): ",
                     result->stderr_text));
  }
  return result->stdout_text;
}

absl::StatusOr<std::string> PgCluster::Query(absl::string_view dbname, absl::string_view sql) {
  WALSHIP_ASSIGN_OR_RETURN(std::string out, Psql(dbname, sql));
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string PgCluster::ServerLog() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace walship::testing
