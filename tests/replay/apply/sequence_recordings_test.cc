// The agent's sequence recordings: parsing and the value a restore sets.
#include "replay/apply/sequence_recordings.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::HasSubstr;

TEST(SequenceRecordingTest, ParsesTheAgentsJsonWithExactBigints) {
  ASSERT_OK_AND_ASSIGN(
      SequenceRecordingAt parsed,
      ParseSequenceRecording(
          R"({"format": 1, "read_lsn": "0/16B3F58", "later_field": true,
              "sequences": [{"schema": "public", "name": "invoice no",
                             "last_value": "9223372036854775806", "increment": "-3"}]})",
          Lsn(0x16B4000)));
  EXPECT_EQ(parsed.read_lsn, Lsn(0x16B3F58));
  EXPECT_EQ(parsed.commit_lsn, Lsn(0x16B4000));
  ASSERT_EQ(parsed.recording.sequences_size(), 1);
  EXPECT_EQ(parsed.recording.sequences(0).name(), "invoice no");
  EXPECT_EQ(parsed.recording.sequences(0).last_value(), 9223372036854775806);
  EXPECT_EQ(parsed.recording.sequences(0).increment(), -3);
}

TEST(SequenceRecordingTest, MalformedRecordingsAreDataLossNamingTheirPosition) {
  for (const char* content :
       {"not json", R"({"format": 2, "read_lsn": "0/1", "sequences": []})",
        R"({"format": 1, "read_lsn": "nowhere", "sequences": []})",
        R"({"format": 1, "read_lsn": "0/1", "sequences": [{"schema": "s", "name": "n"}]})"}) {
    SCOPED_TRACE(content);
    auto parsed = ParseSequenceRecording(content, Lsn(0x2A));
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(parsed.status().message(), HasSubstr("0/2A"));
  }
}

TEST(SequenceRecordingTest, TheMarginAppliesOnlyBeforeTheRestoredPointAndStaysInBounds) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(SequenceTarget(42, 1, /*after=*/true, 1000, 1, kMax), 42);
  EXPECT_EQ(SequenceTarget(42, 1, /*after=*/false, 1000, 1, kMax), 1042);
  EXPECT_EQ(SequenceTarget(-10, -2, /*after=*/false, 1000, -1000000, -1), -2010);
  EXPECT_EQ(SequenceTarget(90, 5, /*after=*/false, 1000, 1, 100), 100);
  EXPECT_EQ(SequenceTarget(kMax - 1, 7, /*after=*/false, int64_t{1} << 40, 1, kMax), kMax);
  EXPECT_EQ(SequenceTarget(kMin + 1, -7, /*after=*/false, int64_t{1} << 40, kMin, -1), kMin);
}

}  // namespace
}  // namespace walship::replay
