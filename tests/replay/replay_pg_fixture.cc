// Stops the shared cluster of ReplayPgTest when the test binary ends.
#include "tests/replay/replay_pg_fixture.h"

namespace walship::replay::testing {
namespace {

class StopClusterAtExit : public ::testing::Environment {
 public:
  void TearDown() override { ReplayPgTest::StopCluster(); }
};

[[maybe_unused]] ::testing::Environment* const kStopClusterAtExit =
    ::testing::AddGlobalTestEnvironment(new StopClusterAtExit);

}  // namespace
}  // namespace walship::replay::testing
