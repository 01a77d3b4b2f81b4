// The walship-replay binary, run as a subprocess: usage errors exit 2, runtime errors exit 1
// with one "walship-replay: error:" line, and list / restore / verify work end to end on a
// file:// store and real databases.
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::replay {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::walship::replay::testing::MakeRelation;
using ::walship::replay::testing::StoreSegment;
using ::walship::replay::testing::StreamBuilder;
using ::walship::replay::testing::V;
using ::walship::testing::Subprocess;
using ::walship::testing::SubprocessResult;

SubprocessResult RunReplay(std::vector<std::string> args) {
  args.insert(args.begin(), WALSHIP_REPLAY_PATH);
  auto result = Subprocess::Run(args, absl::Seconds(60));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : SubprocessResult{};
}

TEST(ReplayCli, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"restore", "--object-store", "file:///tmp/x"},
           {"list", "--object-store", "file:///tmp/x", "--no-such-flag"},
           {"restore", "--object-store", "file:///tmp/x", "--target", "dbname=x", "--exclusive"}}) {
    SubprocessResult r = RunReplay(args);
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_THAT(r.stderr_text, StartsWith("walship-replay: error: "));
  }
}

TEST(ReplayCli, ConflictingTargetsAreRejected) {
  SubprocessResult r = RunReplay({"restore", "--object-store", "file:///tmp/x", "--target",
                                  "dbname=x", "--to-lsn", "0/1", "--to-xid", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("excludes"));
}

TEST(ReplayCli, UnknownSchemeIsAnErrorLine) {
  SubprocessResult r = RunReplay({"list", "--object-store", "ftp://bucket/x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stderr_text,
              StartsWith("walship-replay: error: object store URL \"ftp://bucket/x\" has an "
                         "unsupported scheme"));
}

TEST(ReplayCli, HelpExitsZero) {
  SubprocessResult r = RunReplay({"restore", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr("--to-time"));
}

class ReplayCliPgTest : public testing::ReplayPgTest {};

TEST_F(ReplayCliPgTest, ListRestoreAndVerifyEndToEnd) {
  char dir_template[] = "/tmp/wsreplayXXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string url = absl::StrCat("file://", dir_template);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<sinks::ObjectStore> store, sinks::OpenObjectStore(url));
  StreamBuilder b;
  b.Define(MakeRelation(16430, "deals", {{"id", 23, "int4", true}, {"amount", 1700, "numeric"}}));
  b.Begin(10);
  b.Insert(16430, {"1", "1.50"});
  b.Insert(16430, {"2", "2.000"});
  uint64_t second = b.Begin(11);
  b.Update(16430, {"2", "7"});
  b.Begin(12);
  b.Delete(16430, {"1", V::Null()}, /*old_is_key_only=*/true);
  ASSERT_OK(StoreSegment(store.get(), b.Take(), 0).status());

  SubprocessResult list = RunReplay({"list", "--object-store", url});
  EXPECT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_THAT(list.stdout_text, HasSubstr("transactions: 3, events: 4"));
  EXPECT_THAT(list.stdout_text, HasSubstr("gaps: none"));

  std::string source = NewDatabase(), target = NewDatabase();
  const char* ddl = "CREATE TABLE deals (id int PRIMARY KEY, amount numeric)";
  Sql(source, ddl);
  Sql(target, ddl);
  Sql(source, "INSERT INTO deals VALUES (1, 1.50), (2, 7)");  // the state after xid 11
  SubprocessResult restore = RunReplay({"restore", "--object-store", url, "--target",
                                        ConnInfo(target), "--to-lsn", Lsn(second).ToString()});
  ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
  EXPECT_THAT(restore.stdout_text, HasSubstr("restored 2 transactions (3 events"));

  SubprocessResult verify =
      RunReplay({"verify", "--source", ConnInfo(source), "--target", ConnInfo(target)});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;
  EXPECT_THAT(verify.stdout_text, StartsWith("equal"));

  // Restoring again into the now non-empty target is refused with the fix.
  restore = RunReplay({"restore", "--object-store", url, "--target", ConnInfo(target)});
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_THAT(restore.stderr_text, HasSubstr("is not empty (2 rows); use an empty database or "
                                             "--force"));
  restore = RunReplay({"restore", "--object-store", url, "--target", ConnInfo(target), "--force"});
  ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
  verify = RunReplay({"verify", "--source", ConnInfo(source), "--target", ConnInfo(target)});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_EQ(verify.stdout_text,
            "table \"public.deals\": row (1,1.50) is in the source but not in the target\n");
  std::filesystem::remove_all(dir_template);
}

TEST_F(ReplayCliPgTest, PasswordOnTheCommandLineIsWarnedAbout) {
  std::string target = NewDatabase();
  SubprocessResult r = RunReplay(
      {"verify", "--source", ConnInfo(target) + " password=secret", "--target", ConnInfo(target)});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("--source holds password="));
  EXPECT_THAT(r.stderr_text, ::testing::Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace walship::replay
