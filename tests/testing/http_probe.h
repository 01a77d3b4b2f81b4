// Test-side probes of the agent's HTTP endpoints with independent clients: curl for GETs
// and promtool for linting an exposition. Failures are reported as test failures.
#ifndef WALSHIP_TESTS_TESTING_HTTP_PROBE_H_
#define WALSHIP_TESTS_TESTING_HTTP_PROBE_H_

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {

struct HttpReply {
  int code = 0;
  std::string body;
};

// GET http://127.0.0.1:PORT/PATH with the curl command-line client.
inline HttpReply HttpGet(int port, absl::string_view path) {
  absl::StatusOr<SubprocessResult> r =
      Subprocess::Run({"curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}",
                       absl::StrFormat("http://127.0.0.1:%d%s", port, path)});
  EXPECT_TRUE(r.ok()) << r.status();
  HttpReply reply;
  if (!r.ok()) return reply;
  EXPECT_EQ(r->exit_code, 0) << r->stderr_text;
  size_t nl = r->stdout_text.rfind('\n');
  EXPECT_NE(nl, std::string::npos);
  if (nl == std::string::npos) return reply;
  reply.body = r->stdout_text.substr(0, nl);
  EXPECT_TRUE(absl::SimpleAtoi(r->stdout_text.substr(nl + 1), &reply.code)) << r->stdout_text;
  return reply;
}

// promtool from WALSHIP_PROMTOOL, else PATH.
inline std::string PromtoolPath() {
  const char* path = std::getenv("WALSHIP_PROMTOOL");
  return path != nullptr && *path != '\0' ? path : "promtool";
}

// `promtool check metrics` over an exposition text: its exit code and what it said.
inline SubprocessResult PromtoolCheckMetrics(const std::string& text) {
  absl::StatusOr<SubprocessResult> r =
      Subprocess::Run({PromtoolPath(), "check", "metrics"}, absl::Seconds(60), {}, text);
  EXPECT_TRUE(r.ok()) << r.status() << " (set WALSHIP_PROMTOOL or put promtool on PATH)";
  return r.ok() ? *r : SubprocessResult{};
}

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_HTTP_PROBE_H_
