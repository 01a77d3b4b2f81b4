// Tests for object key validation (the rest of layout.h is covered through the sink).
#include "sinks/object_store/layout.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

TEST(ValidateObjectKey, AcceptsLayoutKeys) {
  StreamId stream{"7301234567890123456", "walship"};
  EXPECT_THAT(ValidateObjectKey(WalSegmentKey(stream, Lsn(0x16B3748), Lsn(0x16B3800))), IsOk());
  EXPECT_THAT(ValidateObjectKey(SegmentIndexKey(stream, Lsn(0x16B3800))), IsOk());
  EXPECT_THAT(ValidateObjectKey("a"), IsOk());
  EXPECT_THAT(ValidateObjectKey("a.b_c-D/9/...x"), IsOk());
}

TEST(ValidateObjectKey, RejectsUnsafeKeys) {
  for (const std::string& key : std::vector<std::string>{"", "/a", "a/", "a//b", "..", "../a", "a/../b", "a/.", "./a", "a b", "a\\b", "a:b",
        "a\nb", std::string("a\0b", 3), "caf\xc3\xa9"}) {
    EXPECT_THAT(ValidateObjectKey(key), StatusIs(absl::StatusCode::kInvalidArgument))
        << "key: " << key;
  }
}

TEST(ParseWalSegmentKey, RoundTripsAndRejectsForeignNames) {
  StreamId stream{"1", "s"};
  auto parsed = ParseWalSegmentKey(WalSegmentKey(stream, Lsn(0x10), Lsn(0x38)));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->first_commit, Lsn(0x10));
  EXPECT_EQ(parsed->last_end, Lsn(0x38));
  EXPECT_FALSE(ParseWalSegmentKey("1/s/wal/notes.txt").has_value());
  EXPECT_FALSE(ParseWalSegmentKey("1/s/wal/0000000000000038-0000000000000010.seg").has_value());
}

}  // namespace
}  // namespace walship::sinks
