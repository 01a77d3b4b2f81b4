// Tests for the binary paths: built paths are absolute, the environment overrides them.
#include "tests/testing/binaries.h"

#include <stdlib.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::testing {
namespace {

TEST(Binaries, MockClusterPathIsBuiltAndExecutable) {
  unsetenv("WALSHIP_MOCKCLUSTER_BIN");
  std::string path = MockClusterBinary();
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(path[0], '/');
  EXPECT_EQ(access(path.c_str(), X_OK), 0) << path;
}

TEST(Binaries, AgentAndReplayPathsNameTheirBinaries) {
  unsetenv("WALSHIP_AGENT_BIN");
  unsetenv("WALSHIP_REPLAY_BIN");
  EXPECT_THAT(AgentBinary(), ::testing::EndsWith("/walship-agent"));
  EXPECT_THAT(ReplayBinary(), ::testing::EndsWith("/walship-replay"));
}

TEST(Binaries, EnvironmentOverridesTheBuiltPath) {
  setenv("WALSHIP_AGENT_BIN", "/opt/walship/bin/walship-agent", 1);
  EXPECT_EQ(AgentBinary(), "/opt/walship/bin/walship-agent");
  unsetenv("WALSHIP_AGENT_BIN");
}

}  // namespace
}  // namespace walship::testing
