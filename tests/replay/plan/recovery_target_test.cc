// Tests for --to-time parsing and target descriptions.
#include "replay/plan/recovery_target.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s, int64_t us = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()) +
         absl::Microseconds(us);
}

TEST(ParseTargetTime, AcceptsRfc3339WithZone) {
  absl::TimeZone local = absl::FixedTimeZone(-5 * 3600);
  struct Case {
    const char* text;
    absl::Time want;
  } cases[] = {
      {"2024-05-01T14:05:00Z", Utc(2024, 5, 1, 14, 5, 0)},
      {"2024-05-01T16:05:00+02:00", Utc(2024, 5, 1, 14, 5, 0)},
      {"2024-05-01 16:05:00.25+02:00", Utc(2024, 5, 1, 14, 5, 0, 250000)},
      {"2024-05-01 16:05:00+02", Utc(2024, 5, 1, 14, 5, 0)},
      {"2024-05-01T14:05:00.123456Z", Utc(2024, 5, 1, 14, 5, 0, 123456)},
  };
  for (const Case& c : cases) {
    ASSERT_OK_AND_ASSIGN(absl::Time got, ParseTargetTime(c.text, local));
    EXPECT_EQ(got, c.want) << c.text << " -> " << FormatUtc(got);
  }
}

TEST(ParseTargetTime, TimeWithoutZoneIsLocal) {
  absl::TimeZone local = absl::FixedTimeZone(2 * 3600);
  ASSERT_OK_AND_ASSIGN(absl::Time got, ParseTargetTime("2024-05-01 16:05:00.5", local));
  EXPECT_EQ(got, Utc(2024, 5, 1, 14, 5, 0, 500000));
  EXPECT_EQ(FormatUtc(got), "2024-05-01T14:05:00.500000Z");
}

TEST(ParseTargetTime, RejectsOtherForms) {
  for (const char* text : {"", "yesterday", "2024-05-01", "14:05", "2024-13-01 00:00:00"}) {
    EXPECT_THAT(ParseTargetTime(text, absl::UTCTimeZone()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RFC 3339")))
        << text;
  }
}

TEST(RecoveryTarget, DescribesItself) {
  RecoveryTarget target;
  EXPECT_EQ(target.Describe(), "everything");
  target.kind = RecoveryTarget::Kind::kXid;
  target.xid = Xid(42);
  target.exclusive = true;
  EXPECT_EQ(target.Describe(), "xid 42 (exclusive)");
  target.kind = RecoveryTarget::Kind::kLsn;
  target.lsn = Lsn(0x16B3748);
  EXPECT_EQ(target.Describe(), "commit LSN <= 0/16B3748");
}

}  // namespace
}  // namespace walship::replay
