// A restore checks everything it can before its first write: a damaged or missing object
// (change segment or base object), a non-empty target. A failure after writing began says
// that the target is incomplete and names the statement. Every outcome is read back from
// the target database.
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSchema[] =
    "CREATE TABLE ledger (id int PRIMARY KEY, payload text, amount numeric(12,3));"
    "CREATE INDEX ledger_amount ON ledger (amount);"
    "INSERT INTO ledger SELECT g, repeat('p', g), g FROM generate_series(1, 500) g;";

class RestorePreflightTest : public CrmStoreTest {
 protected:
  RestorePreflightTest() : CrmStoreTest(kSchema) {}

  std::vector<std::string> AgentArgs(const std::string& until) {
    return {"--source", pg_->ConnInfo("crm"), "--create", "--object-store", "file://" + store_,
            "--work-dir", work_, "--segment-max-ms", "20", "--until-lsn", until};
  }

  // A base, then `runs` agent runs of one transaction each: one change segment per run.
  void StreamRuns(int runs) {
    ASSERT_OK_AND_ASSIGN(SubprocessResult setup, RunAgent(AgentArgs("0/1")));
    ASSERT_EQ(setup.exit_code, 0) << setup.stderr_text;
    for (int i = 0; i < runs; ++i) {
      // One transaction, so one segment even when the agent is slow (--segment-max-ms 20).
      ASSERT_OK(pg_->Psql("crm", absl::StrFormat("BEGIN; INSERT INTO ledger VALUES (%d, 'run', %d); "
                                                 "UPDATE ledger SET amount = amount + 1 "
                                                 "WHERE id = %d; COMMIT",
                                                 1000 + i, i, i + 1))
                    .status());
      ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
      ASSERT_OK_AND_ASSIGN(SubprocessResult run, RunAgent(AgentArgs(end.ToString())));
      ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
    }
  }

  SubprocessResult Restore(PgCluster& pg, const std::string& db) {
    auto result = RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                             pg.ConnInfo(db)});
    EXPECT_OK(result.status());
    return result.ok() ? *result : SubprocessResult{};
  }

  // The relations in the target's public schema.
  std::string Relations(PgCluster& pg, const std::string& db) {
    auto names = pg.Query(db,
                          "SELECT coalesce(string_agg(relname, ',' ORDER BY relname), '') "
                          "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE n.nspname = 'public'");
    EXPECT_OK(names.status());
    return names.ok() ? *names : "?";
  }

};

// Replaces a file's content, returning the old one.
std::string Rewrite(const std::string& path, const std::string& content) {
  std::string old = ReadFile(path);
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return old;
}

TEST_F(RestorePreflightTest, DamagedOrMissingObjectsStopItBeforeItsFirstWrite) {
  ASSERT_NO_FATAL_FAILURE(StreamRuns(4));
  std::vector<std::string> segments = StoredSegments(store_);
  ASSERT_EQ(segments.size(), 4u);
  std::vector<std::string> base_objects;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(store_)) {
    std::string path = entry.path().string();
    if (path.find("/base/") != std::string::npos && entry.path().extension() == ".seg") {
      base_objects.push_back(path);
    }
  }
  ASSERT_FALSE(base_objects.empty());
  auto name_of = [](const std::string& path) { return path.substr(path.rfind('/') + 1); };

  {
    SCOPED_TRACE("a flipped byte in a change segment near the end of the window");
    std::string original = ReadFile(segments[2]);
    std::string flipped = original;
    flipped[flipped.size() * 3 / 4] ^= 0x20;
    Rewrite(segments[2], flipped);
    ASSERT_OK(pg_->CreateDatabase("flipped"));
    SubprocessResult restore = Restore(*pg_, "flipped");
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_THAT(restore.stderr_text,
                AllOf(HasSubstr("pre-flight"), HasSubstr(name_of(segments[2])),
                      HasSubstr("Nothing was written to the target")));
    EXPECT_EQ(Relations(*pg_, "flipped"), "");
    Rewrite(segments[2], original);
  }
  {
    SCOPED_TRACE("a missing middle segment (its index object is there)");
    std::string original = ReadFile(segments[1]);
    std::filesystem::remove(segments[1]);
    ASSERT_OK(pg_->CreateDatabase("missing"));
    SubprocessResult restore = Restore(*pg_, "missing");
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_THAT(restore.stderr_text,
                AllOf(HasSubstr("is missing"), HasSubstr(name_of(segments[1])),
                      HasSubstr("Nothing was written to the target")));
    EXPECT_EQ(Relations(*pg_, "missing"), "");
    std::ofstream(segments[1], std::ios::binary) << original;
  }
  {
    SCOPED_TRACE("a flipped byte in a base object");
    std::string original = ReadFile(base_objects[0]);
    std::string flipped = original;
    flipped[flipped.size() / 2] ^= 0x01;
    Rewrite(base_objects[0], flipped);
    ASSERT_OK(pg_->CreateDatabase("base_flipped"));
    SubprocessResult restore = Restore(*pg_, "base_flipped");
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_THAT(restore.stderr_text,
                AllOf(HasSubstr("base object"), HasSubstr(name_of(base_objects[0])),
                      HasSubstr("public.ledger"), HasSubstr("Nothing was written")));
    EXPECT_EQ(Relations(*pg_, "base_flipped"), "");
    Rewrite(base_objects[0], original);
  }
  {
    SCOPED_TRACE("every object back in place: the restore equals the source");
    ASSERT_OK(pg_->CreateDatabase("whole"));
    SubprocessResult restore = Restore(*pg_, "whole");
    EXPECT_EQ(restore.exit_code, 0) << restore.stderr_text;
    EXPECT_THAT(restore.stderr_text, HasSubstr("pre-flight: "));
    ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
    ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "whole"));
    EXPECT_EQ(FirstDifference(source, restored), "");
  }
}

TEST_F(RestorePreflightTest, ATargetWithASchemaOfItsOwnIsRefusedBeforeTheFirstWrite) {
  ASSERT_NO_FATAL_FAILURE(StreamRuns(1));
  ASSERT_OK(pg_->CreateDatabase("busy"));
  ASSERT_OK(pg_->Psql("busy", "CREATE TABLE unrelated (x int); INSERT INTO unrelated VALUES (7);"
                              "CREATE TYPE mood AS ENUM ('ok')")
                .status());
  SubprocessResult restore = Restore(*pg_, "busy");
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_THAT(restore.stderr_text,
              AllOf(HasSubstr("not empty"), HasSubstr("unrelated"), HasSubstr("mood"),
                    HasSubstr("Nothing was written to the target")));
  EXPECT_EQ(Relations(*pg_, "busy"), "unrelated");
  ASSERT_OK_AND_ASSIGN(std::string kept, pg_->Query("busy", "SELECT x FROM unrelated"));
  EXPECT_EQ(kept, "7");
}

TEST_F(RestorePreflightTest, AFailureAfterWritingBeganSaysTheTargetIsIncomplete) {
  ASSERT_NO_FATAL_FAILURE(StreamRuns(0));
  // A schema change in the window that the restore's server refuses (it lacks the role), and
  // whose recorded table description cannot stand in for it (text to int, by a function).
  ASSERT_OK(pg_->Psql("crm", "CREATE ROLE carol; ALTER TABLE ledger ALTER COLUMN payload TYPE "
                             "int USING length(payload), OWNER TO carol; "
                             "INSERT INTO ledger VALUES (9999, 1, 1)")
                .status());
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult run, RunAgent(AgentArgs(end.ToString())));
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCluster> other, PgCluster::Start());
  ASSERT_OK(other->CreateDatabase("target"));
  SubprocessResult restore = Restore(*other, "target");
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_THAT(restore.stderr_text,
              AllOf(HasSubstr("THE TARGET IS INCOMPLETE"), HasSubstr("payload"),
                    HasSubstr("role \"carol\" does not exist"),
                    Not(HasSubstr("Nothing was written"))));
}

TEST_F(RestorePreflightTest, MissingRolesAreNamedBeforeTheFirstWriteAndCreateRolesMakesThem) {
  ASSERT_OK(pg_->Psql("crm", "CREATE ROLE dana LOGIN PASSWORD 'dana-secret-pw'; "
                             "CREATE ROLE \"eve ops\" NOINHERIT; "
                             "GRANT SELECT ON ledger TO dana; "
                             "GRANT UPDATE (amount) ON ledger TO \"eve ops\"; "
                             "REVOKE ALL ON ledger FROM PUBLIC")
                .status());
  ASSERT_NO_FATAL_FAILURE(StreamRuns(1));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(store_)) {
    if (entry.is_regular_file()) {
      EXPECT_THAT(ReadFile(entry.path().string()), Not(HasSubstr("dana-secret-pw")))
          << entry.path();
    }
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCluster> other, PgCluster::Start());
  ASSERT_OK(other->CreateDatabase("refused"));
  SubprocessResult refused = Restore(*other, "refused");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.stderr_text,
              AllOf(HasSubstr("dana"), HasSubstr("\"eve ops\""), HasSubstr("--create-roles"),
                    HasSubstr("Nothing was written to the target")));
  EXPECT_EQ(Relations(*other, "refused"), "");

  ASSERT_OK(other->CreateDatabase("created"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult created,
                       RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                  other->ConnInfo("created"), "--create-roles"}));
  ASSERT_EQ(created.exit_code, 0) << created.stderr_text;
  ASSERT_OK_AND_ASSIGN(
      std::string roles,
      other->Query("created", "SELECT string_agg(rolname || ':' || rolcanlogin || ':' || "
                              "rolinherit || ':' || (rolpassword IS NULL), ' ' ORDER BY rolname) "
                              "FROM pg_authid WHERE rolname IN ('dana', 'eve ops')"));
  EXPECT_EQ(roles, "dana:true:true:true eve ops:false:false:true");
  ASSERT_OK_AND_ASSIGN(
      std::string privileges,
      other->Query("created", "SELECT has_table_privilege('dana', 'ledger', 'SELECT') || ':' || "
                              "has_table_privilege('dana', 'ledger', 'UPDATE') || ':' || "
                              "has_column_privilege('eve ops', 'ledger', 'amount', 'UPDATE') "
                              "|| ':' || has_column_privilege('eve ops', 'ledger', 'payload', "
                              "'UPDATE')"));
  EXPECT_EQ(privileges, "true:false:true:false");
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*other, "created"));
  EXPECT_EQ(FirstDifference(source, restored), "");
}

}  // namespace
}  // namespace walship::testing
