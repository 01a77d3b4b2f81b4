// The shipped agent's operations surface given bad input: a --metrics-listen port in use or
// malformed (a clear error, nothing created), and JSON log lines that never hold the
// source's password, whether given in the conninfo, by PGPASSWORD or wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/agent_metrics_fixture.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Psql() {
  const char* dir = std::getenv("WALSHIP_PG_BINDIR");
  return dir != nullptr && *dir != '\0' ? absl::StrCat(dir, "/psql") : "psql";
}

// ---- 4. bad --metrics-listen ------------------------------------------------------------

class AgentMetricsBadInputTest : public AgentMetricsTest {
 protected:
  void ExpectNothingCreated() {
    ASSERT_OK_AND_ASSIGN(std::string slots,
                         pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
    EXPECT_EQ(slots, "0");
    ASSERT_OK_AND_ASSIGN(std::string pubs,
                         pg_->Query("crm", "SELECT count(*) FROM pg_publication"));
    EXPECT_EQ(pubs, "0");
    EXPECT_EQ(CountFiles(store_).first, 0u);
  }
};

TEST_F(AgentMetricsBadInputTest, PortInUseExitsOneAndCreatesNoSlot) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);

  std::vector<std::string> args = AgentArgs();
  args.back() = absl::StrCat("127.0.0.1:", port);
  ASSERT_OK_AND_ASSIGN(SubprocessResult r, RunAgent(args, absl::Seconds(60)));
  close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr(absl::StrFormat(
                                 "metrics listen address 127.0.0.1:%d is already in use", port)));
  EXPECT_THAT(r.stderr_text, HasSubstr("--metrics-listen"));
  ExpectNothingCreated();
}

TEST_F(AgentMetricsBadInputTest, MalformedListenAddressIsAClearError) {
  for (const char* bad : {"nonsense", "127.0.0.1:99999", "300.1.1.1:9187", "::1:9187"}) {
    SCOPED_TRACE(bad);
    std::vector<std::string> args = AgentArgs();
    args.back() = bad;
    ASSERT_OK_AND_ASSIGN(SubprocessResult r, RunAgent(args, absl::Seconds(60)));
    EXPECT_NE(r.exit_code, 0) << r.stderr_text;
    EXPECT_NE(r.exit_code, -1) << "killed by a signal";
    EXPECT_THAT(r.stderr_text, HasSubstr(absl::StrFormat("invalid --metrics-listen \"%s\"", bad)));
    EXPECT_THAT(r.stderr_text, HasSubstr("expected ADDR:PORT"));
  }
  ExpectNothingCreated();
}

// ---- 5. JSON logs without secrets --------------------------------------------------------

// Every line of `log` is one JSON object with time, level, component and message (checked by
// Python's json module); returns how many lines there were, -1 when one was not.
int JsonLines(const std::string& log_path) {
  absl::StatusOr<SubprocessResult> r =
      Subprocess::Run({"python3", "-c",
                       "import json, sys\n"
                       "n = 0\n"
                       "for line in open(sys.argv[1], encoding='utf-8'):\n"
                       "    o = json.loads(line)\n"
                       "    assert isinstance(o, dict), line\n"
                       "    assert {'time', 'level', 'component', 'message'} <= set(o), line\n"
                       "    assert o['level'] in ('debug', 'info', 'warning', 'error'), line\n"
                       "    n += 1\n"
                       "print(n)\n",
                       log_path});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return -1;
  EXPECT_EQ(r->exit_code, 0) << r->stderr_text << ReadFile(log_path);
  int n = -1;
  if (r->exit_code == 0) {
    EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r->stdout_text), &n)) << r->stdout_text;
  }
  return n;
}

TEST_F(AgentMetricsTest, JsonLogsAreOneObjectPerLineAndNeverHoldThePassword) {
  constexpr char kPassword[] = "Qz7-walship-S3cret-pw";
  constexpr char kWrongPassword[] = "Wr0ng-walship-pw-X9";
  ASSERT_OK(pg_->Psql("crm", absl::StrFormat("CREATE ROLE shipper LOGIN SUPERUSER REPLICATION "
                                             "PASSWORD '%s'",
                                             kPassword))
                .status());
  // The role must give its password, on normal and replication connections alike.
  std::string hba_path = pg_->DataDir() + "/pg_hba.conf";
  std::string hba = ReadFile(hba_path);
  std::ofstream(hba_path) << "local all shipper scram-sha-256\n"
                          << "local replication shipper scram-sha-256\n"
                          << hba;
  ASSERT_OK(pg_->Query("postgres", "SELECT pg_reload_conf()").status());
  std::string conninfo =
      absl::StrFormat("host=%s port=%d user=shipper dbname=crm", pg_->host(), pg_->port());
  SubprocessOptions no_password;
  no_password.unset_env = {"PGPASSWORD", "PGPASSFILE"};
  ASSERT_OK_AND_ASSIGN(SubprocessResult denied,
                       Subprocess::Run({Psql(), "-X", "-w", conninfo, "-c", "SELECT 1"},
                                       absl::Seconds(30), no_password));
  ASSERT_NE(denied.exit_code, 0) << "the role connects without a password";

  auto run = [&](const std::string& source, std::map<std::string, std::string> env,
                 const std::string& log_path, Lsn until) -> SubprocessResult {
    std::vector<std::string> argv = {AgentPath(),
                                     "--source",
                                     source,
                                     "--create",
                                     "--object-store",
                                     "file://" + store_,
                                     "--work-dir",
                                     work_,
                                     "--segment-max-ms",
                                     "50",
                                     "--log-format",
                                     "json",
                                     "--metrics-listen",
                                     "127.0.0.1:0"};
    if (until.valid()) {
      argv.push_back("--until-lsn");
      argv.push_back(until.ToString());
    }
    SubprocessOptions options = no_password;
    options.env = std::move(env);
    options.stdout_mode = StreamMode::kFile;
    options.stdout_path = log_path;
    options.stderr_mode = StreamMode::kFile;
    options.stderr_path = log_path;
    absl::StatusOr<SubprocessResult> r = Subprocess::Run(argv, absl::Seconds(120), options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SubprocessResult{};
  };

  // 1. The password in the conninfo: warned about, used, never printed. The agent creates
  // the slot, ships one transaction and stops on SIGTERM.
  std::string log1 = work_ + "/json1.log";
  {
    std::vector<std::string> argv = {"--source",
                                     conninfo + " password=" + kPassword,
                                     "--create",
                                     "--object-store",
                                     "file://" + store_,
                                     "--work-dir",
                                     work_,
                                     "--segment-max-ms",
                                     "50",
                                     "--log-format",
                                     "json",
                                     "--metrics-listen",
                                     "127.0.0.1:0"};
    auto agent = StartAgent(argv, log1);
    ASSERT_OK(agent.status());
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!absl::StrContains(ReadFile(log1), "streaming from slot")) {
      ASSERT_LT(absl::Now(), deadline) << ReadFile(log1);
      ASSERT_TRUE((*agent)->Running()) << ReadFile(log1);
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_OK(pg_->Psql("crm", kLoadTransaction).status());
    CatchUp();
    (*agent)->Kill(SIGTERM);
    ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, (*agent)->Wait(absl::Seconds(60)));
    EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log1);
  }
  std::string text1 = ReadFile(log1);
  EXPECT_GE(JsonLines(log1), 3);
  EXPECT_THAT(text1, Not(HasSubstr(kPassword)));
  EXPECT_THAT(text1, HasSubstr("--source holds a password"));
  EXPECT_THAT(text1, HasSubstr("\"level\":\"warning\""));

  // 2. The password from PGPASSWORD: the agent resumes the slot and stops at --until-lsn.
  ASSERT_OK(pg_->Psql("crm", kLoadTransaction).status());
  ASSERT_OK_AND_ASSIGN(Lsn until, CurrentLsn(*pg_, "crm"));
  std::string log2 = work_ + "/json2.log";
  SubprocessResult second = run(conninfo, {{"PGPASSWORD", kPassword}}, log2, until);
  EXPECT_EQ(second.exit_code, 0) << ReadFile(log2);
  std::string text2 = ReadFile(log2);
  EXPECT_GE(JsonLines(log2), 2);
  EXPECT_THAT(text2, Not(HasSubstr(kPassword)));
  EXPECT_THAT(text2, HasSubstr("reached --until-lsn"));

  // 3. A wrong password: the error says authentication failed and repeats no password.
  std::string log3 = work_ + "/json3.log";
  SubprocessResult third = run(conninfo + " password=" + kWrongPassword, {}, log3, Lsn());
  EXPECT_EQ(third.exit_code, 1) << ReadFile(log3);
  std::string text3 = ReadFile(log3);
  EXPECT_GE(JsonLines(log3), 1);
  EXPECT_THAT(text3, HasSubstr("password authentication failed"));
  EXPECT_THAT(text3, HasSubstr("\"level\":\"error\""));
  EXPECT_THAT(text3, Not(HasSubstr(kWrongPassword)));
  EXPECT_THAT(text3, Not(HasSubstr(kPassword)));
}

}  // namespace
}  // namespace walship::testing
