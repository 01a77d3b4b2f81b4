// The agent and replay under failure: kill -9 at every stage of making a segment durable
// and acknowledging it, a missing segment (a gap), and bad input of every kind. Each
// outcome is read back from PostgreSQL and the store, never from the agent's own logs.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/layout.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kLedgerSchema[] =
    "CREATE TABLE ledger (id int PRIMARY KEY, payload text, amount numeric(12,3));";

class AgentFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", kLedgerSchema).status());
    ASSERT_OK_AND_ASSIGN(schema_sql_, DumpSchema(*pg_, "crm"));
    store_ = MakeTempDir("store");
    work_ = MakeTempDir("work");
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(store_);
      std::filesystem::remove_all(work_);
    }
  }

  std::vector<std::string> AgentArgs(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--source", pg_->ConnInfo("crm"), "--create",
                                     "--object-store", "file://" + store_, "--work-dir", work_,
                                     "--segment-max-ms", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // One transaction of the ledger workload; records the WAL position before and after it.
  struct Txn {
    Lsn before;
    Lsn after;
  };
  void RunTxn(std::vector<Txn>* txns) {
    int id = next_id_++;
    Txn txn;
    ASSERT_OK_AND_ASSIGN(txn.before, CurrentLsn(*pg_, "crm"));
    ASSERT_OK(pg_->Psql("crm", absl::StrFormat(
                                   "BEGIN; INSERT INTO ledger VALUES (%d, repeat('x', %d), %d.125);"
                                   "UPDATE ledger SET amount = amount + 1 WHERE id = %d;"
                                   "DELETE FROM ledger WHERE id = %d AND id %% 3 = 0; COMMIT;",
                                   id, id % 500, id, id / 2, id - 7))
                  .status());
    ASSERT_OK_AND_ASSIGN(txn.after, CurrentLsn(*pg_, "crm"));
    txns->push_back(txn);
  }

  // Every transaction the slot claims (after <= confirmed) must be in the store.
  void ExpectConfirmedIsStored(const std::vector<Txn>& txns, const std::string& stage) {
    ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
    Lsn stored = MaxStoredEnd(store_);
    for (const Txn& txn : txns) {
      if (txn.after <= confirmed) {
        EXPECT_GT(stored, txn.before)
            << stage << ": the slot confirmed " << confirmed.ToString()
            << " but the store ends at " << stored.ToString() << ", before a transaction in ("
            << txn.before.ToString() << ", " << txn.after.ToString() << "]";
      }
    }
  }

  std::unique_ptr<PgCluster> pg_;
  std::string schema_sql_;
  std::string store_;
  std::string work_;
  int next_id_ = 1;
};

// Schema changes the capture triggers miss reach the store undescribed: every start says so
// when they are missing or disabled, and --create puts them back (ENABLE ALWAYS).
TEST_F(AgentFailureTest, MissingOrDisabledDdlCaptureIsReportedAtEveryStart) {
  auto run = [&](bool create) -> std::string {
    auto until = CurrentLsn(*pg_, "crm");
    EXPECT_OK(until.status());
    std::vector<std::string> args = {"--source", pg_->ConnInfo("crm"), "--object-store",
                                     "file://" + store_, "--work-dir", work_, "--until-lsn",
                                     until.ok() ? until->ToString() : "0/0"};
    if (create) args.push_back("--create");
    auto result = RunAgent(args, absl::Seconds(60));
    EXPECT_OK(result.status());
    if (!result.ok()) return "";
    EXPECT_EQ(result->exit_code, 0) << result->stderr_text;
    return result->stderr_text;
  };
  std::string first = run(true);
  EXPECT_THAT(first, Not(HasSubstr("schema changes are NOT captured")));
  EXPECT_EQ(*pg_->Query("crm", "SELECT string_agg(evtenabled::text, ',' ORDER BY evtname) FROM "
                               "pg_event_trigger WHERE evtname LIKE 'walship_ddl_%'"),
            "A,A");

  ASSERT_OK(pg_->Psql("crm", "ALTER EVENT TRIGGER walship_ddl_capture DISABLE").status());
  EXPECT_THAT(run(false), AllOf(HasSubstr("schema changes are NOT captured"),
                                HasSubstr("disabled")));
  // A deliberate DISABLE is left as it is by a plain start.
  EXPECT_EQ(*pg_->Query("crm", "SELECT evtenabled FROM pg_event_trigger WHERE evtname = "
                               "'walship_ddl_capture'"),
            "D");

  ASSERT_OK(pg_->Psql("crm", "DROP EVENT TRIGGER walship_ddl_capture").status());
  EXPECT_THAT(run(false), AllOf(HasSubstr("schema changes are NOT captured"),
                                HasSubstr("missing")));
  EXPECT_THAT(run(true), Not(HasSubstr("schema changes are NOT captured")));
  EXPECT_EQ(*pg_->Query("crm", "SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE "
                               "'walship_ddl_%' AND evtenabled = 'A'"),
            "2");
}

TEST_F(AgentFailureTest, KillNineAtEveryStageLosesNothing) {
  std::vector<Txn> txns;
  const std::vector<std::string> crash_points = {
      "segment-written:2", "segment-stored:2", "index-stored:3",
      "before-ack:4",      "after-ack:3",      "random"};
  std::mt19937 rng(42);
  for (const std::string& point : crash_points) {
    SCOPED_TRACE(point);
    std::string log = absl::StrCat(work_, "/agent-", point, ".log");
    std::map<std::string, std::string> env;
    if (point != "random") env["WALSHIP_CRASH_AT"] = point;
    ASSERT_OK_AND_ASSIGN(auto agent, StartAgent(AgentArgs(), log, env));
    absl::Time started = absl::Now();
    absl::Duration kill_after = absl::Milliseconds(300 + rng() % 700);
    int ran = 0;
    while (agent->Running() && ran < 300) {
      RunTxn(&txns);
      ++ran;
      if (point == "random" && absl::Now() - started > kill_after) agent->Kill(SIGKILL);
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, agent->Wait(absl::Seconds(30)));
    EXPECT_EQ(result.term_signal, SIGKILL) << ReadFile(log);
    ExpectConfirmedIsStored(txns, point);
  }

  // A clean run to the end stores everything; the restore equals the source even though
  // the crashes made the slot send some transactions more than once.
  for (int i = 0; i < 5; ++i) RunTxn(&txns);
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult final_run,
                       RunAgent(AgentArgs({"--until-lsn", end.ToString()})));
  ASSERT_EQ(final_run.exit_code, 0) << final_run.stderr_text;
  ExpectConfirmedIsStored(txns, "final");

  ASSERT_OK(CreateDatabaseWithSchema(*pg_, "restored", schema_sql_));
  ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                       RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                  pg_->ConnInfo("restored")}));
  ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "restored"));
  EXPECT_GT(source["public.ledger"].size(), 10u);
  EXPECT_EQ(FirstDifference(source, restored), "");
}

TEST_F(AgentFailureTest, MissingSegmentIsAGapThatRestoreRefusesToCross) {
  std::vector<Txn> txns;
  std::vector<Lsn> marks;
  ASSERT_OK_AND_ASSIGN(SubprocessResult setup, RunAgent(AgentArgs({"--until-lsn", "0/1"})));
  ASSERT_EQ(setup.exit_code, 0) << setup.stderr_text;
  for (int i = 0; i < 4; ++i) {
    RunTxn(&txns);
    ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
    // One run per transaction: each ends with its own segment.
    ASSERT_OK_AND_ASSIGN(SubprocessResult run, RunAgent(AgentArgs({"--until-lsn", end.ToString()})));
    ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
    marks.push_back(end);
  }
  std::vector<std::string> segments = StoredSegments(store_);
  ASSERT_EQ(segments.size(), 4u);
  auto middle = sinks::ParseWalSegmentKey(segments[1]);
  ASSERT_TRUE(middle.has_value());
  std::filesystem::remove(segments[1]);
  std::string index = segments[1];
  index.replace(index.find("/wal/"), 5, "/index/");
  index.replace(index.rfind('/') + 1, std::string::npos, middle->last_end.ToKey() + ".idx");
  ASSERT_TRUE(std::filesystem::remove(index)) << index;

  ASSERT_OK_AND_ASSIGN(SubprocessResult list, RunReplay({"list", "--object-store", "file://" + store_}));
  EXPECT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_THAT(list.stdout_text, HasSubstr("gap"));
  EXPECT_THAT(list.stdout_text, Not(HasSubstr("gaps: none")));

  ASSERT_OK(CreateDatabaseWithSchema(*pg_, "across", schema_sql_));
  ASSERT_OK_AND_ASSIGN(SubprocessResult across,
                       RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                  pg_->ConnInfo("across")}));
  EXPECT_NE(across.exit_code, 0);
  EXPECT_THAT(across.stderr_text, HasSubstr("gap"));
  ASSERT_OK_AND_ASSIGN(std::string rows, pg_->Query("across", "SELECT count(*) FROM ledger"));
  EXPECT_EQ(rows, "0") << "a refused restore must change nothing";

  // Up to the end of the segment before the gap is still restorable (a target inside the
  // gap is not: what committed there is unknown).
  auto first = sinks::ParseWalSegmentKey(segments[0]);
  ASSERT_TRUE(first.has_value());
  ASSERT_OK(CreateDatabaseWithSchema(*pg_, "before_gap", schema_sql_));
  ASSERT_OK_AND_ASSIGN(SubprocessResult before,
                       RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                  pg_->ConnInfo("before_gap"), "--to-lsn",
                                  Lsn(first->last_end.value() - 1).ToString()}));
  EXPECT_EQ(before.exit_code, 0) << before.stderr_text;
  ASSERT_OK_AND_ASSIGN(std::string restored, pg_->Query("before_gap", "SELECT count(*) FROM ledger"));
  EXPECT_EQ(restored, "1");
}

TEST_F(AgentFailureTest, CorruptAndTruncatedSegmentsAreRefusedByName) {
  std::vector<Txn> txns;
  ASSERT_OK_AND_ASSIGN(SubprocessResult setup, RunAgent(AgentArgs({"--until-lsn", "0/1"})));
  ASSERT_EQ(setup.exit_code, 0) << setup.stderr_text;
  for (int i = 0; i < 20; ++i) RunTxn(&txns);
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult run, RunAgent(AgentArgs({"--until-lsn", end.ToString()})));
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  std::vector<std::string> segments = StoredSegments(store_);
  ASSERT_FALSE(segments.empty());
  std::string path = segments.back();
  std::string name = path.substr(path.rfind('/') + 1);
  std::string original = ReadFile(path);
  ASSERT_GT(original.size(), 200u);

  struct Case {
    const char* db;
    std::string content;
    const char* expected;
  };
  std::string flipped = original;
  flipped[flipped.size() / 2] ^= 0x5A;
  std::vector<Case> cases = {{"corrupt", flipped, "corrupt"},
                             {"truncated", original.substr(0, original.size() - 50), "truncated"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.db);
    std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << c.content;
    }
    ASSERT_OK(CreateDatabaseWithSchema(*pg_, c.db, schema_sql_));
    ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                         RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                    pg_->ConnInfo(c.db)}));
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_THAT(restore.stderr_text, AllOf(HasSubstr(name), HasSubstr(c.expected)));
  }
}

TEST_F(AgentFailureTest, BadInputGetsAClearOneLineError) {
  // Wrong password: a role that needs one, and PGPASSWORD set wrong.
  ASSERT_OK(pg_->Psql("crm", "CREATE ROLE alice LOGIN REPLICATION PASSWORD 'right-secret'").status());
  {
    std::string hba = ReadFile(pg_->DataDir() + "/pg_hba.conf");
    std::ofstream out(pg_->DataDir() + "/pg_hba.conf", std::ios::trunc);
    out << "local all alice scram-sha-256\nlocal replication alice scram-sha-256\n" << hba;
  }
  ASSERT_OK(pg_->Psql("crm", "SELECT pg_reload_conf()").status());
  absl::SleepFor(absl::Milliseconds(200));
  std::string alice = absl::StrFormat("host=%s port=%d user=alice dbname=crm", pg_->host(), pg_->port());

  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    int exit_code;
    std::string expected;
  };
  std::string store = "file://" + store_;
  std::vector<Case> cases = {
      {"wrong password", {"--source", alice, "--create", "--object-store", store, "--work-dir", work_},
       {{"PGPASSWORD", "wrong-secret"}}, 1, "password authentication failed"},
      {"unreachable host",
       {"--source", "host=127.0.0.1 port=1 dbname=crm connect_timeout=3", "--object-store", store,
        "--work-dir", work_},
       {}, 1, "cannot connect"},
      {"missing publication",
       {"--source", pg_->ConnInfo("crm"), "--object-store", store, "--work-dir", work_}, {}, 1,
       "--create"},
      {"malformed number", {"--source", "x", "--object-store", store, "--segment-max-ms", "abc"},
       {}, 2, "segment-max-ms"},
      {"unknown option", {"--source", "x", "--object-store", store, "--bogus"}, {}, 2, "bogus"},
      {"missing source", {"--object-store", store}, {}, 2, "source"},
      {"unknown scheme",
       {"--source", pg_->ConnInfo("crm"), "--create", "--object-store", "ftp://host/x",
        "--work-dir", work_},
       {}, 1, "ftp"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, RunAgent(c.args, absl::Seconds(30), c.env));
    EXPECT_EQ(result.exit_code, c.exit_code) << result.stderr_text;
    EXPECT_THAT(result.stderr_text, HasSubstr(c.expected));
    EXPECT_THAT(result.stderr_text, Not(HasSubstr("wrong-secret")));
  }

  // Missing slot without --create (the publication exists now).
  ASSERT_OK(pg_->Psql("crm", "CREATE PUBLICATION walship FOR ALL TABLES").status());
  ASSERT_OK_AND_ASSIGN(SubprocessResult no_slot,
                       RunAgent({"--source", pg_->ConnInfo("crm"), "--object-store", store,
                                 "--work-dir", work_}));
  EXPECT_EQ(no_slot.exit_code, 1);
  EXPECT_THAT(no_slot.stderr_text, AllOf(HasSubstr("slot"), HasSubstr("--create")));

  // A published table without a key under REPLICA IDENTITY DEFAULT is refused by name.
  ASSERT_OK(pg_->Psql("crm", "CREATE TABLE notes_nokey (body text)").status());
  ASSERT_OK_AND_ASSIGN(SubprocessResult unkeyed,
                       RunAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                                 store, "--work-dir", work_}));
  EXPECT_EQ(unkeyed.exit_code, 1);
  EXPECT_THAT(unkeyed.stderr_text, AllOf(HasSubstr("notes_nokey"), HasSubstr("REPLICA IDENTITY")));
  ASSERT_OK_AND_ASSIGN(Lsn slot, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_FALSE(slot.valid()) << "nothing may be created after a refusal";

  // Restore into a target without the schema, from changes only (no base snapshot).
  ASSERT_OK(pg_->Psql("crm", "DROP TABLE notes_nokey").status());
  ASSERT_OK_AND_ASSIGN(SubprocessResult created,
                       RunAgent(AgentArgs({"--until-lsn", "0/1", "--no-base"})));
  ASSERT_EQ(created.exit_code, 0) << created.stderr_text;
  std::vector<Txn> txns;
  RunTxn(&txns);
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult run,
                       RunAgent(AgentArgs({"--until-lsn", end.ToString(), "--no-base"})));
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  ASSERT_OK(pg_->CreateDatabase("empty_target"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                       RunReplay({"restore", "--object-store", store, "--target",
                                  pg_->ConnInfo("empty_target")}));
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_THAT(restore.stderr_text, AllOf(HasSubstr("ledger"), HasSubstr("does not exist")));
}

}  // namespace
}  // namespace walship::testing
