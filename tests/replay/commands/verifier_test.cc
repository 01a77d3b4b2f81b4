// verify against real databases: equal tables, a byte-level difference that SQL `=` would
// hide, and tables missing on one side.
#include "replay/commands/verifier.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class VerifierTest : public testing::ReplayPgTest {
 protected:
  absl::StatusOr<VerifyResult> Compare(const std::string& a, const std::string& b,
                                       VerifyOptions options = {}) {
    auto source = Connect(a);
    auto target = Connect(b);
    return Verify(source.get(), target.get(), options);
  }
};

constexpr char kSchema[] =
    "CREATE TABLE deals (id int PRIMARY KEY, amount numeric, doc json);"
    "CREATE SCHEMA crm; CREATE TABLE crm.notes (body text);";

TEST_F(VerifierTest, EqualDatabasesAreEqualWhateverTheRowOrder) {
  std::string a = NewDatabase(), b = NewDatabase();
  Sql(a, kSchema);
  Sql(b, kSchema);
  Sql(a,
      "INSERT INTO deals VALUES (1, 1.0, '{\"a\":1}'), (2, NULL, NULL);"
      "INSERT INTO crm.notes VALUES ('x'), ('x'), ('')");
  Sql(b,
      "INSERT INTO crm.notes VALUES (''), ('x'), ('x');"
      "INSERT INTO deals VALUES (2, NULL, NULL), (1, 1.0, '{\"a\":1}')");
  ASSERT_OK_AND_ASSIGN(VerifyResult result, Compare(a, b));
  EXPECT_THAT(result.differences, IsEmpty());
  EXPECT_EQ(result.tables_compared, 2u);
}

TEST_F(VerifierTest, ReportsTheFirstDifferingRowAsText) {
  std::string a = NewDatabase(), b = NewDatabase();
  Sql(a, kSchema);
  Sql(b, kSchema);
  Sql(a,
      "INSERT INTO deals VALUES (1, 1.0, NULL), (2, 5, NULL); INSERT INTO crm.notes "
      "VALUES ('x'), ('x')");
  Sql(b,
      "INSERT INTO deals VALUES (1, 1.00, NULL), (2, 5, NULL); INSERT INTO crm.notes "
      "VALUES ('x')");
  ASSERT_OK_AND_ASSIGN(VerifyResult result, Compare(a, b));
  EXPECT_THAT(result.differences,
              ElementsAre("table \"crm.notes\": row (x) is in the source but not in the target",
                          "table \"public.deals\": row (1,1.0,) is in the source but not in "
                          "the target"));
  VerifyOptions only_deals;
  only_deals.tables = {"deals"};
  ASSERT_OK_AND_ASSIGN(result, Compare(a, b, only_deals));
  EXPECT_EQ(result.differences.size(), 1u);
}

TEST_F(VerifierTest, TablesMissingOnEitherSideDiffer) {
  std::string a = NewDatabase(), b = NewDatabase();
  Sql(a, "CREATE TABLE only_source (id int)");
  Sql(b, "CREATE TABLE only_target (id int)");
  ASSERT_OK_AND_ASSIGN(VerifyResult result, Compare(a, b));
  EXPECT_THAT(result.differences,
              ElementsAre("table \"public.only_source\" is missing in the target",
                          "table \"public.only_target\" is missing in the source"));
}

}  // namespace
}  // namespace walship::replay
