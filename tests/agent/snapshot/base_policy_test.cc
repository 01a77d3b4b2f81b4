// NextBaseTime and ParseTimeOfDay: every/at/both, zones, catch-up after downtime.
#include "agent/snapshot/base_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {
namespace {

using ::walship::testing::StatusIs;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TimeOfDay At(int hour, int minute, const char* zone = "UTC") {
  TimeOfDay at;
  at.hour = hour;
  at.minute = minute;
  EXPECT_TRUE(absl::LoadTimeZone(zone, &at.zone));
  return at;
}

TEST(BasePolicyTest, NothingSetMeansNever) {
  EXPECT_EQ(NextBaseTime(Utc(2026, 1, 1, 0, 0), BasePolicy{}, Utc(2026, 1, 2, 0, 0)),
            absl::InfiniteFuture());
}

TEST(BasePolicyTest, NoLastBaseMeansNow) {
  BasePolicy policy;
  policy.every = absl::Hours(24);
  absl::Time now = Utc(2026, 3, 1, 12, 0);
  EXPECT_EQ(NextBaseTime(std::nullopt, policy, now), now);
  policy.at = At(2, 0);
  EXPECT_EQ(NextBaseTime(std::nullopt, policy, now), now);
}

TEST(BasePolicyTest, EveryOnly) {
  BasePolicy policy;
  policy.every = absl::Hours(6);
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 1, 10, 17), policy, Utc(2026, 3, 1, 11, 0)),
            Utc(2026, 3, 1, 16, 17));
}

TEST(BasePolicyTest, AtOnlyIsTheNextSlotAfterTheLastBase) {
  BasePolicy policy;
  policy.at = At(2, 0);
  // Last base at 02:00:30 today → tomorrow 02:00.
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 1, 2, 0, 30), policy, Utc(2026, 3, 1, 3, 0)),
            Utc(2026, 3, 2, 2, 0));
  // Last base exactly on the slot → the next day's slot.
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 1, 2, 0), policy, Utc(2026, 3, 1, 3, 0)),
            Utc(2026, 3, 2, 2, 0));
  // Last base in the evening → the next morning.
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 1, 22, 0), policy, Utc(2026, 3, 1, 23, 0)),
            Utc(2026, 3, 2, 2, 0));
}

TEST(BasePolicyTest, AtOnlyCatchesUpAfterDowntime) {
  BasePolicy policy;
  policy.at = At(2, 0);
  // The agent was down over two slots: the next base is due at once (a past time).
  absl::Time next = NextBaseTime(Utc(2026, 3, 1, 2, 0), policy, Utc(2026, 3, 4, 9, 0));
  EXPECT_EQ(next, Utc(2026, 3, 2, 2, 0));
  EXPECT_LE(next, Utc(2026, 3, 4, 9, 0));
}

TEST(BasePolicyTest, AtInAZoneWithoutDaylightSaving) {
  BasePolicy policy;
  policy.at = At(2, 0, "Asia/Tokyo");  // UTC+9 all year
  // 02:00 in Tokyo is 17:00 UTC the day before.
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 1, 12, 0), policy, Utc(2026, 3, 1, 13, 0)),
            Utc(2026, 3, 1, 17, 0));
  EXPECT_EQ(NextBaseTime(Utc(2026, 7, 1, 18, 0), policy, Utc(2026, 7, 1, 19, 0)),
            Utc(2026, 7, 2, 17, 0));
}

TEST(BasePolicyTest, AtFollowsDaylightSaving) {
  BasePolicy policy;
  policy.at = At(2, 30, "Europe/Berlin");
  // Winter: UTC+1 → 01:30 UTC. Summer: UTC+2 → 00:30 UTC.
  EXPECT_EQ(NextBaseTime(Utc(2026, 1, 10, 12, 0), policy, Utc(2026, 1, 10, 12, 0)),
            Utc(2026, 1, 11, 1, 30));
  EXPECT_EQ(NextBaseTime(Utc(2026, 7, 10, 12, 0), policy, Utc(2026, 7, 10, 12, 0)),
            Utc(2026, 7, 11, 0, 30));
}

TEST(BasePolicyTest, BothKeepsTheTimeOfDay) {
  BasePolicy policy;
  policy.every = absl::Hours(24);
  policy.at = At(2, 0);
  // A base that started a few minutes late does not push the next one a day further.
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 1, 2, 7), policy, Utc(2026, 3, 1, 3, 0)),
            Utc(2026, 3, 2, 2, 0));
  // Weekly at 02:00.
  policy.every = absl::Hours(24 * 7);
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 2, 2, 3), policy, Utc(2026, 3, 2, 3, 0)),
            Utc(2026, 3, 9, 2, 0));
  // A manual base at 14:00 → the slot at or after 02:00 that day + 7 days.
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 2, 14, 0), policy, Utc(2026, 3, 2, 15, 0)),
            Utc(2026, 3, 9, 2, 0));
  // Every 36 hours at 02:00: 02:00 + 36 h = 14:00 next day → the slot after that.
  policy.every = absl::Hours(36);
  EXPECT_EQ(NextBaseTime(Utc(2026, 3, 1, 2, 0), policy, Utc(2026, 3, 1, 3, 0)),
            Utc(2026, 3, 3, 2, 0));
}

TEST(BasePolicyTest, ParsesTimeOfDay) {
  ASSERT_OK_AND_ASSIGN(TimeOfDay at, ParseTimeOfDay("02:00"));
  EXPECT_EQ(at.hour, 2);
  EXPECT_EQ(at.minute, 0);
  EXPECT_EQ(at.zone, absl::LocalTimeZone());
  ASSERT_OK_AND_ASSIGN(at, ParseTimeOfDay("23:45 Europe/Berlin"));
  EXPECT_EQ(at.hour, 23);
  EXPECT_EQ(at.minute, 45);
  EXPECT_EQ(at.zone.name(), "Europe/Berlin");
  ASSERT_OK_AND_ASSIGN(at, ParseTimeOfDay("7:05 UTC"));
  EXPECT_EQ(at.hour, 7);
}

TEST(BasePolicyTest, RejectsBadTimeOfDay) {
  for (const char* bad : {"", "24:00", "02:60", "2", "02:0", "aa:bb", "02:00 Mars/Olympus",
                          "02:00 UTC extra"}) {
    EXPECT_THAT(ParseTimeOfDay(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

}  // namespace
}  // namespace walship::agent::snapshot
