// Large objects (attachments such as contract scans): each base carries them as of its
// snapshot, a restore brings them back with their oids, and `list` says that later changes
// to them are not in the change stream.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// A contract table referring to its scans by oid, and three scans: empty, small, and one of
// 3 MiB and 16 bytes (more than one piece; md5 digests: bytes of every value, NUL included).
constexpr char kSchema[] = R"sql(
CREATE TABLE contracts (id int PRIMARY KEY, scan oid);
SELECT lo_create(424242);
SELECT lo_from_bytea(424243, convert_to('signed: ACME', 'UTF8'));
SELECT lo_from_bytea(424244, (SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea
                                                ORDER BY g)
                              FROM generate_series(1, 196609) g));
INSERT INTO contracts VALUES (1, 424242), (2, 424243), (3, 424244);
)sql";

// oid, size and md5 of every large object, one line each.
constexpr char kLargeObjects[] =
    "SELECT coalesce(string_agg(oid || ' ' || length(lo_get(oid)) || ' ' || md5(lo_get(oid)), "
    "E'\\n' ORDER BY oid), '') FROM pg_largeobject_metadata";

class LargeObjectRestoreTest : public CrmStoreTest {
 protected:
  LargeObjectRestoreTest() : CrmStoreTest(kSchema) {}
  std::vector<std::string> AgentArgs(const std::string& until) {
    return {"--source", pg_->ConnInfo("crm"), "--create", "--object-store", "file://" + store_,
            "--work-dir", work_, "--segment-max-ms", "20", "--until-lsn", until};
  }

};

TEST_F(LargeObjectRestoreTest, TheBaseCarriesThemAndARestoreBringsThemBack) {
  ASSERT_OK_AND_ASSIGN(std::string at_base, pg_->Query("crm", kLargeObjects));
  ASSERT_OK_AND_ASSIGN(SubprocessResult base, RunAgent(AgentArgs("0/1")));
  ASSERT_EQ(base.exit_code, 0) << base.stderr_text;
  // After the base: a scan rewritten and a new one; rows still stream.
  ASSERT_OK(pg_->Psql("crm", "SELECT lo_put(424243, 0, convert_to('VOID', 'UTF8')); "
                             "SELECT lo_create(424245); "
                             "INSERT INTO contracts VALUES (4, 424245)")
                .status());
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult run, RunAgent(AgentArgs(end.ToString())));
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;

  ASSERT_OK_AND_ASSIGN(SubprocessResult list,
                       RunReplay({"list", "--object-store", "file://" + store_}));
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_THAT(list.stdout_text,
              AllOf(HasSubstr("large objects 3"),
                    HasSubstr("later changes to large objects are not in the change stream")));

  ASSERT_OK(pg_->CreateDatabase("restored"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult restore,
                       RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                  pg_->ConnInfo("restored")}));
  ASSERT_EQ(restore.exit_code, 0) << restore.stderr_text;
  EXPECT_THAT(restore.stderr_text, HasSubstr("restored 3 large objects"));
  ASSERT_OK_AND_ASSIGN(std::string restored, pg_->Query("restored", kLargeObjects));
  EXPECT_EQ(restored, at_base);
  ASSERT_OK_AND_ASSIGN(std::string contracts,
                       pg_->Query("restored", "SELECT string_agg(id || ':' || scan, ' ' ORDER BY "
                                              "id) FROM contracts"));
  EXPECT_EQ(contracts, "1:424242 2:424243 3:424244 4:424245");

  // A target that already has one of them is refused before anything is written.
  ASSERT_OK(pg_->CreateDatabase("has_one"));
  ASSERT_OK(pg_->Psql("has_one", "SELECT lo_create(424243)").status());
  ASSERT_OK_AND_ASSIGN(SubprocessResult refused,
                       RunReplay({"restore", "--object-store", "file://" + store_, "--target",
                                  pg_->ConnInfo("has_one")}));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.stderr_text,
              AllOf(HasSubstr("large object 424243"), HasSubstr("Nothing was written")));
}

}  // namespace
}  // namespace walship::testing
