// Binary paths: an environment override, else the path compiled in by CMake.
#include "tests/testing/binaries.h"

#include <stdlib.h>

namespace walship::testing {
namespace {

std::string Resolve(const char* env_name, const char* built) {
  const char* value = getenv(env_name);
  if (value != nullptr && *value != '\0') return value;
  return built;
}

}  // namespace

#ifndef WALSHIP_AGENT_PATH
#define WALSHIP_AGENT_PATH ""
#endif
#ifndef WALSHIP_REPLAY_PATH
#define WALSHIP_REPLAY_PATH ""
#endif
#ifndef WALSHIP_MOCKCLUSTER_PATH
#define WALSHIP_MOCKCLUSTER_PATH ""
#endif

std::string AgentBinary() { return Resolve("WALSHIP_AGENT_BIN", WALSHIP_AGENT_PATH); }
std::string ReplayBinary() { return Resolve("WALSHIP_REPLAY_BIN", WALSHIP_REPLAY_PATH); }
std::string MockClusterBinary() {
  return Resolve("WALSHIP_MOCKCLUSTER_BIN", WALSHIP_MOCKCLUSTER_PATH);
}

}  // namespace walship::testing
