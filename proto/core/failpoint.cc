// Crash points, configured once from the environment.
#include "proto/core/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace walship {
namespace {

struct CrashConfig {
  std::string name;
  long count = 1;
};

const CrashConfig* Config() {
  static const CrashConfig* config = [] () -> const CrashConfig* {
    const char* env = std::getenv("WALSHIP_CRASH_AT");
    if (env == nullptr || *env == '\0') return nullptr;
    auto* c = new CrashConfig;
    std::string text = env;
    size_t colon = text.find(':');
    c->name = text.substr(0, colon);
    if (colon != std::string::npos && !absl::SimpleAtoi(text.substr(colon + 1), &c->count)) {
      c->count = 1;
    }
    return c;
  }();
  return config;
}

std::atomic<long> g_hits{0};

}  // namespace

void CrashPoint(const char* name) {
  const CrashConfig* config = Config();
  if (config == nullptr || config->name != name) return;
  if (g_hits.fetch_add(1) + 1 >= config->count) {
    kill(getpid(), SIGKILL);
    _exit(137);
  }
}

}  // namespace walship

namespace walship {

bool FailpointActive(const char* name) {
  static const std::string* active = [] {
    const char* env = std::getenv("WALSHIP_FAILPOINTS");
    return new std::string(env == nullptr ? "" : absl::StrCat(",", env, ","));
  }();
  return !active->empty() && active->find(absl::StrCat(",", name, ",")) != std::string::npos;
}

}  // namespace walship
