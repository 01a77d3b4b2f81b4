// Binary paths: an environment override, else the path compiled in by CMake.
#include "tests/testing/binaries.h"

#include <stdlib.h>

#include <filesystem>
#include <vector>

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

S3rverPaths FindS3rver() {
  // A variable that is set is the only candidate (so that a wrong one is noticed).
  auto first_existing = [](const char* variable, std::vector<std::string> candidates) {
    std::string chosen = Resolve(variable, "");
    if (!chosen.empty()) candidates = {chosen};
    for (const std::string& path : candidates) {
      if (std::filesystem::exists(path)) return path;
    }
    return std::string();
  };
  std::vector<std::string> scripts = {"/opt/walship-test-peers/node_modules/s3rver/bin/s3rver.js"};
  if (const char* home = getenv("HOME")) {
    scripts.push_back(std::string(home) +
                      "/.cache/walship-test-peers/node_modules/s3rver/bin/s3rver.js");
  }
  S3rverPaths paths;
  paths.js = first_existing("WALSHIP_S3RVER_JS", scripts);
  paths.node = first_existing("WALSHIP_NODE", {"/usr/bin/node", "/usr/local/bin/node"});
  if (paths.js.empty() || paths.node.empty()) return S3rverPaths{};
  return paths;
}

bool MissingPeersAllowed() {
  const char* value = getenv("WALSHIP_ALLOW_MISSING_PEERS");
  return value != nullptr && std::string(value) == "1";
}

}  // namespace walship::testing
