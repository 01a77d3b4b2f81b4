// walship-replay with base snapshots, through the binary on a file:// store: list, restore
// with --to-mark and --tables/--into-schema, window errors, drill exit codes.
#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/replay/base_test_util.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/subprocess.h"

namespace walship::replay::testing {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::Subprocess;
using ::walship::testing::SubprocessResult;

SubprocessResult Replay(std::vector<std::string> args) {
  args.insert(args.begin(), WALSHIP_REPLAY_PATH);
  auto result = Subprocess::Run(args, absl::Seconds(120));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : SubprocessResult{};
}

class BaseCliTest : public ReplayPgTest {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/walship-base-cli-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    url_ = absl::StrCat("file://", dir_);
    ASSERT_OK_AND_ASSIGN(store_, sinks::OpenObjectStore(url_));
    source_ = NewDatabase();
    Sql(source_,
        "CREATE TABLE customers (id int PRIMARY KEY, name text);"
        "CREATE TABLE contracts (id int PRIMARY KEY, customer_id int, value numeric);"
        "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) g;"
        "INSERT INTO contracts SELECT g, g, g * 10 FROM generate_series(1, 100) g;");
    StreamBuilder stream(0x2000000);
    ASSERT_OK_AND_ASSIGN(v1::BaseManifest base,
                         WriteBase(store_.get(), ConnInfo(source_), 0x1FFFF00,
                                   stream.TimeOf(0x1FFFF00)));
    v1::Relation contracts = base.tables(0).relation();
    ASSERT_EQ(contracts.table(), "contracts");
    stream.Begin(500);
    stream.Define(contracts);
    stream.Delete(contracts.oid(), {"1", V::Null(), V::Null()}, true);
    stream.Message("walship", "mark:once");
    stream.Begin(501);
    stream.Message("walship", "mark:twice");
    stream.Begin(502);
    stream.Message("walship", "mark:twice");
    stream.Delete(contracts.oid(), {"2", V::Null(), V::Null()}, true);
    ASSERT_OK(StoreSegment(store_.get(), stream.Take(), 0).status());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::string url_;
  std::unique_ptr<sinks::ObjectStore> store_;
  std::string source_;
};

TEST_F(BaseCliTest, ListShowsBasesAndTheWindow) {
  SubprocessResult r = Replay({"list", "--object-store", url_});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("base snapshots: 1"));
  EXPECT_THAT(r.stdout_text, HasSubstr("tables 2  rows 200"));
  EXPECT_THAT(r.stdout_text, HasSubstr("earliest: "));
  EXPECT_THAT(r.stdout_text, HasSubstr("LSN 0/1FFFF00"));
  EXPECT_THAT(r.stdout_text, HasSubstr("mark \"once\""));
  EXPECT_THAT(r.stdout_text, HasSubstr("gaps: none"));
}

TEST_F(BaseCliTest, RestoresToAMark) {
  std::string target = NewDatabase();
  SubprocessResult r = Replay({"restore", "--object-store", url_, "--target", ConnInfo(target),
                               "--to-mark", "once"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(Value(target, "SELECT count(*) FROM contracts"), "99");
  EXPECT_EQ(Value(target, "SELECT count(*) FROM customers"), "100");
}

TEST_F(BaseCliTest, DuplicateAndUnknownMarksAreRefused) {
  std::string target = NewDatabase();
  SubprocessResult twice = Replay({"restore", "--object-store", url_, "--target",
                                   ConnInfo(target), "--to-mark", "twice"});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_THAT(twice.stderr_text, HasSubstr("written 2 times"));
  SubprocessResult unknown = Replay({"restore", "--object-store", url_, "--target",
                                     ConnInfo(target), "--to-mark", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("stored marks: \"once\""));
}

TEST_F(BaseCliTest, TimeOutsideTheWindowSaysWhatTheWindowIs) {
  std::string target = NewDatabase();
  SubprocessResult r = Replay({"restore", "--object-store", url_, "--target", ConnInfo(target),
                               "--to-time", "2001-01-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("target 2001-01-01 00:00:00 UTC is outside the recovery window"));
}

TEST_F(BaseCliTest, TableLevelRestoreIntoASchema) {
  std::string live = NewDatabase();
  Sql(live, "CREATE TABLE contracts (id int PRIMARY KEY, customer_id int, value numeric);"
            "INSERT INTO contracts VALUES (7, 7, 1)");
  std::vector<std::string> before = Rows(live, "contracts");
  SubprocessResult r = Replay({"restore", "--object-store", url_, "--target", ConnInfo(live),
                               "--tables", "contracts", "--into-schema", "restored", "--to-mark",
                               "once"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(Rows(live, "contracts"), before);
  EXPECT_EQ(Value(live, "SELECT count(*) FROM restored.contracts"), "99");
  EXPECT_EQ(Value(live, "SELECT to_regclass('restored.customers') IS NULL"), "t");
}

TEST_F(BaseCliTest, DrillExitsZeroWhenEqualAndNonZeroOnDifference) {
  std::string scratch = NewDatabase();
  SubprocessResult ok = Replay({"drill", "--object-store", url_, "--scratch", ConnInfo(scratch)});
  EXPECT_EQ(ok.exit_code, 0) << ok.stdout_text << ok.stderr_text;
  EXPECT_THAT(ok.stdout_text, HasSubstr("only one base snapshot"));
  EXPECT_THAT(ok.stdout_text, HasSubstr("equal"));
  SubprocessResult busy = Replay({"drill", "--object-store", url_, "--scratch", ConnInfo(source_)});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_THAT(busy.stderr_text, HasSubstr("not empty"));
}

}  // namespace
}  // namespace walship::replay::testing
