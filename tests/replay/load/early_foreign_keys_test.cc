// EarlyForeignKeys: which foreign keys go in before a table loads, and the waiting.
#include "replay/load/early_foreign_keys.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kDealsFk[] = "ALTER TABLE ONLY public.deals ADD CONSTRAINT d_fk ...";
constexpr char kNotesFk[] = "ALTER TABLE ONLY public.notes ADD CONSTRAINT n_fk ...";
constexpr char kSelfFk[] = "ALTER TABLE ONLY public.deals ADD CONSTRAINT parent_fk ...";

class EarlyForeignKeysTest : public ::testing::Test {
 protected:
  EarlyForeignKeysTest()
      : keys_({{kDealsFk, 0, "PUBLIC.DEALS", "PUBLIC.CUSTOMERS"},
               {kNotesFk, 1, "PUBLIC.NOTES", "PUBLIC.DEALS"},
               {kSelfFk, 2, "PUBLIC.DEALS", "PUBLIC.DEALS"}},
              [this](const EarlyForeignKeys::Candidate& candidate) {
                absl::MutexLock lock(&mu_);
                ran_.push_back(candidate.statement);
                return absl::OkStatus();
              }) {}

  std::vector<std::string> Ran() {
    absl::MutexLock lock(&mu_);
    return ran_;
  }

  absl::Mutex mu_;
  std::vector<std::string> ran_;
  EarlyForeignKeys keys_;
};

TEST_F(EarlyForeignKeysTest, AddsTheKeysOfATableWhoseReferencedTableHasItsKey) {
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.CUSTOMERS", true));
  keys_.Loaded("PUBLIC.CUSTOMERS", /*keyed=*/true);
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.DEALS", true));
  // Not the self-reference: the table is not keyed before its own load.
  EXPECT_THAT(Ran(), ElementsAre(kDealsFk));
  EXPECT_TRUE(keys_.Added(kDealsFk));
  EXPECT_FALSE(keys_.Added(kSelfFk));
  EXPECT_FALSE(keys_.Added(kNotesFk));
}

TEST_F(EarlyForeignKeysTest, NothingEarlyWhenTheReferencedTableHasNotStartedOrHasNoKey) {
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.DEALS", true));  // customers not started
  keys_.Loaded("PUBLIC.DEALS", /*keyed=*/false);
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.NOTES", true));  // deals loaded without a key
  EXPECT_THAT(Ran(), IsEmpty());
  EXPECT_FALSE(keys_.Added(kDealsFk));
}

TEST_F(EarlyForeignKeysTest, NothingEarlyWhenTheCallerSaysSo) {
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.CUSTOMERS", true));
  keys_.Loaded("PUBLIC.CUSTOMERS", true);
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.DEALS", /*add_keys=*/false));
  EXPECT_THAT(Ran(), IsEmpty());
}

TEST_F(EarlyForeignKeysTest, WaitsForAReferencedTableThatIsLoading) {
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.CUSTOMERS", true));  // loading from now on
  std::atomic<bool> returned{false};
  std::thread deals([&] {
    EXPECT_OK(keys_.BeforeLoad("PUBLIC.DEALS", true));
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(returned.load());
  EXPECT_THAT(Ran(), IsEmpty());
  keys_.Loaded("PUBLIC.CUSTOMERS", true);
  deals.join();
  EXPECT_THAT(Ran(), ElementsAre(kDealsFk));
}

TEST_F(EarlyForeignKeysTest, AStoppedLoadWakesTheWaiter) {
  ASSERT_OK(keys_.BeforeLoad("PUBLIC.CUSTOMERS", true));
  absl::Status waited;
  std::thread deals([&] { waited = keys_.BeforeLoad("PUBLIC.DEALS", true); });
  absl::SleepFor(absl::Milliseconds(50));
  keys_.Stop();
  deals.join();
  EXPECT_EQ(waited.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(Ran(), IsEmpty());
}

TEST(EarlyForeignKeys, ARefusedStatementLeavesTheKeyForAfterTheLoad) {
  EarlyForeignKeys keys(
      {{kDealsFk, 0, "PUBLIC.DEALS", "PUBLIC.CUSTOMERS"}}, [](const EarlyForeignKeys::Candidate&) {
        return absl::FailedPreconditionError("there is no unique constraint matching given keys");
      });
  keys.Loaded("PUBLIC.CUSTOMERS", true);
  EXPECT_OK(keys.BeforeLoad("PUBLIC.DEALS", true));
  EXPECT_FALSE(keys.Added(kDealsFk));
}

}  // namespace
}  // namespace walship::replay
