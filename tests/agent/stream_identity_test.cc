// The timeline history files the agent reads after a failover.
#include "agent/stream_identity.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

TEST(TimelineHistory, ParsesEverySwitchOfAHistoryFile) {
  // As PostgreSQL writes 00000003.history: one line per ancestor timeline.
  ASSERT_OK_AND_ASSIGN(std::vector<TimelineSwitch> switches,
                       ParseTimelineHistory("1\t0/3000158\tno recovery target specified\n\n"
                                            "2\t0/5A00A0B8\tbefore 2026-12-07 10:00:00+00\n"));
  ASSERT_EQ(switches.size(), 2u);
  EXPECT_EQ(switches[0].parent, 1u);
  EXPECT_EQ(switches[0].switch_lsn, Lsn(0x3000158));
  EXPECT_EQ(switches[1].parent, 2u);
  EXPECT_EQ(switches[1].switch_lsn, Lsn(0x5A00A0B8));
  ASSERT_OK_AND_ASSIGN(switches, ParseTimelineHistory("# comment\n"));
  EXPECT_TRUE(switches.empty());
}

TEST(TimelineHistory, MalformedLinesAreDataLoss) {
  for (const char* bad : {"x\t0/1\treason\n", "1\n", "1\tnot-an-lsn\treason\n"}) {
    EXPECT_EQ(ParseTimelineHistory(bad).status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

}  // namespace
}  // namespace walship::agent
