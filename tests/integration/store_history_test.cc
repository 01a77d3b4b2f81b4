// The store knows which history it holds (ARCHITECTURE.md contract 6): a store written by an
// older walship still lists and restores; a re-created slot, a failover and a missing
// segment are recorded discontinuities, never silent gaps.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

// The fixture's rows, as its make script captured them.
constexpr char kFixtureRowsSql[] =
    "SELECT r FROM (SELECT 'public.accounts ' || a::text AS r FROM accounts a UNION ALL "
    "SELECT 'public.deals ' || d::text FROM deals d) s ORDER BY r COLLATE \"C\"";

std::string FixtureDir() { return WALSHIP_FIXTURE_DIR "/store_v1"; }

// A store written by walship before stream identities (segment format 1, indexes without
// checksums, no incarnation records) must still list and restore, to its end and to a mark.
TEST(FixtureStoreTest, StoreFromFormatOneListsAndRestores) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCluster> pg, PgCluster::Start());
  std::string store = MakeTempDir("fixture-store");
  std::filesystem::copy(FixtureDir() + "/store", store,
                        std::filesystem::copy_options::recursive);
  std::string url = "file://" + store;

  ASSERT_OK_AND_ASSIGN(auto listed, RunReplay({"list", "--object-store", url}));
  ASSERT_EQ(listed.exit_code, 0) << listed.stderr_text;
  EXPECT_THAT(listed.stdout_text, HasSubstr("7716354087429805792"));
  EXPECT_THAT(listed.stdout_text, HasSubstr("fixture-mid"));

  struct Point {
    std::string db;
    std::vector<std::string> target;
    std::string expected_file;
  };
  for (const Point& point : {Point{"at_end", {}, "expected_end.txt"},
                             Point{"at_mark", {"--to-mark", "fixture-mid"}, "expected_mid.txt"}}) {
    SCOPED_TRACE(point.db);
    ASSERT_OK(pg->CreateDatabase(point.db));
    std::vector<std::string> args = {"restore", "--object-store", url, "--target",
                                     pg->ConnInfo(point.db)};
    args.insert(args.end(), point.target.begin(), point.target.end());
    ASSERT_OK_AND_ASSIGN(auto restored, RunReplay(args));
    ASSERT_EQ(restored.exit_code, 0) << restored.stderr_text;
    ASSERT_OK_AND_ASSIGN(std::string rows, pg->Psql(point.db, kFixtureRowsSql));
    EXPECT_EQ(rows, ReadFile(FixtureDir() + "/" + point.expected_file));
  }
  std::filesystem::remove_all(store);
}

}  // namespace
}  // namespace walship::testing
