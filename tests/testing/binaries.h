// Paths of the binaries integration tests run: the shipped walship-agent and walship-replay,
// and the walship_mockcluster helper. Each path comes from the build (compile definitions of
// walship_testing) and may be overridden by an environment variable (WALSHIP_AGENT_BIN,
// WALSHIP_REPLAY_BIN, WALSHIP_MOCKCLUSTER_BIN), e.g. to test an installed build.
// A test target that runs a binary must depend on it in CMake:
//   add_dependencies(my_integration_test walship-agent walship-replay)
#ifndef WALSHIP_TESTS_TESTING_BINARIES_H_
#define WALSHIP_TESTS_TESTING_BINARIES_H_

#include <string>

namespace walship::testing {

// s3rver (a real S3-protocol server, installed by docker/install_deps.sh --test-peers) and
// the node that runs it: WALSHIP_S3RVER_JS / WALSHIP_NODE, else the install locations.
struct S3rverPaths {
  std::string node;
  std::string js;
};
// Empty paths when either is missing.
S3rverPaths FindS3rver();

// A test whose peer is missing fails (a passing test must have run against it) unless
// WALSHIP_ALLOW_MISSING_PEERS=1 says that skipping is wanted (a machine without node).
bool MissingPeersAllowed();

// Empty when the build has no such target and no override is set.
std::string AgentBinary();
std::string ReplayBinary();
std::string MockClusterBinary();

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_BINARIES_H_
