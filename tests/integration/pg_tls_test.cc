// PostgreSQL over TLS with sslmode=verify-full: a test cluster serving a certificate for
// "localhost" from a CA made here. The agent streams and the replay restores through it (the
// server's log shows each connection with SSL on); a wrong CA and a host name the
// certificate does not carry are refused before anything is created on the source.
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_certs.h"

namespace walship::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class PgTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgClusterOptions options;
    options.listen_tcp = true;
    options.settings["log_connections"] = "on";
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start(options));
    ASSERT_OK_AND_ASSIGN(certs_, MakeTestCertificates(pg_->BaseDir() + "/tls"));
    // The server reads its key only when it belongs to the user it runs as (postgres when
    // the tests run as root) and nobody else may read it.
    if (::geteuid() == 0) {
      struct passwd* postgres = ::getpwnam("postgres");
      ASSERT_NE(postgres, nullptr);
      for (const std::string& path :
           {pg_->BaseDir() + "/tls", certs_.server_key, certs_.server_cert}) {
        ASSERT_EQ(::chown(path.c_str(), postgres->pw_uid, postgres->pw_gid), 0) << path;
      }
    }
    ASSERT_OK(pg_->Psql("postgres", absl::StrCat("ALTER SYSTEM SET ssl = on; "
                                                 "ALTER SYSTEM SET ssl_cert_file = '",
                                                 certs_.server_cert, "'; ALTER SYSTEM SET "
                                                 "ssl_key_file = '",
                                                 certs_.server_key, "'; SELECT pg_reload_conf();"))
                  .status());
    ASSERT_OK_AND_ASSIGN(std::string ssl, pg_->Query("postgres", "SHOW ssl"));
    ASSERT_EQ(ssl, "on") << pg_->ServerLog();
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", "CREATE TABLE accounts (id int PRIMARY KEY, name text);"
                               "INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 50) g")
                  .status());
    store_ = MakeTempDir("pg_tls_store");
    work_ = MakeTempDir("pg_tls_work");
  }

  // A TCP conninfo with every certificate check on.
  std::string TlsConnInfo(const std::string& host, const std::string& db,
                          const std::string& root_cert) const {
    return absl::StrCat("host=", host, " port=", pg_->port(), " user=postgres dbname=", db,
                        " sslmode=verify-full sslrootcert=", root_cert);
  }

  std::unique_ptr<PgCluster> pg_;
  TestCertificates certs_;
  std::string store_;
  std::string work_;
};

TEST_F(PgTlsTest, VerifyFullStreamsAndRestoresAndRefusesAWrongCaOrHost) {
  // Refused first, so that the source provably holds nothing of ours afterwards.
  struct Refusal {
    std::string what;
    std::string conninfo;
    std::string message;
  };
  const std::vector<Refusal> refusals = {
      {"another CA", TlsConnInfo("localhost", "crm", certs_.other_ca_cert), "certificate"},
      {"a host name not in the certificate", TlsConnInfo("127.0.0.1", "crm", certs_.ca_cert),
       "does not match host name"},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.what);
    ASSERT_OK_AND_ASSIGN(SubprocessResult run,
                         RunAgent({"--source", refusal.conninfo, "--create", "--object-store",
                                   "file://" + store_, "--work-dir", work_, "--until-lsn", "0/1"}));
    EXPECT_NE(run.exit_code, 0);
    EXPECT_THAT(run.stderr_text, HasSubstr(refusal.message));
    ASSERT_OK_AND_ASSIGN(std::string slots,
                         pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
    EXPECT_EQ(slots, "0");
  }

  // Through TLS: a base, then changes, up to a known position.
  ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET name = name || '!' WHERE id % 7 = 0").status());
  ASSERT_OK_AND_ASSIGN(SubprocessResult setup,
                       RunAgent({"--source", TlsConnInfo("localhost", "crm", certs_.ca_cert),
                                 "--create", "--object-store", "file://" + store_, "--work-dir",
                                 work_, "--segment-max-ms", "50", "--until-lsn", "0/1"}));
  ASSERT_EQ(setup.exit_code, 0) << setup.stderr_text;
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO accounts VALUES (1000, 'over tls');"
                             "DELETE FROM accounts WHERE id < 5")
                .status());
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult run,
                       RunAgent({"--source", TlsConnInfo("localhost", "crm", certs_.ca_cert),
                                 "--object-store", "file://" + store_, "--work-dir", work_,
                                 "--segment-max-ms", "50", "--until-lsn", end.ToString()}));
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;

  ASSERT_OK(pg_->CreateDatabase("restored"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                       RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                  TlsConnInfo("localhost", "restored", certs_.ca_cert)}));
  ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "restored"));
  EXPECT_EQ(FirstDifference(source, restored), "");

  // The server saw the agent's replication connections and the restore's with SSL on.
  std::string log = pg_->ServerLog();
  EXPECT_THAT(log, HasSubstr("replication connection authorized: user=postgres "
                             "application_name=walship SSL enabled (protocol=TLSv1.3"));
  EXPECT_THAT(log, AllOf(HasSubstr("connection authorized: user=postgres database=restored"),
                         HasSubstr("SSL enabled (protocol=TLSv1.3")));
}

}  // namespace
}  // namespace walship::testing
