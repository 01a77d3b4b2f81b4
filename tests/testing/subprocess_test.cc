// Tests for Subprocess: exit codes, captured output, stdin, line reads, timeouts, kill.
#include "tests/testing/subprocess.h"

#include <signal.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

TEST(Subprocess, RunCapturesStdoutStderrAndExitCode) {
  ASSERT_OK_AND_ASSIGN(SubprocessResult result,
                       Subprocess::Run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.term_signal, 0);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.stdout_text, "out\n");
  EXPECT_EQ(result.stderr_text, "err\n");
  EXPECT_EQ(result.Describe(), "exit 3");
}

TEST(Subprocess, RunFeedsStdinLargerThanAPipe) {
  std::string input(1 << 20, 'x');
  input += "\n";
  ASSERT_OK_AND_ASSIGN(SubprocessResult result,
                       Subprocess::Run({"wc", "-c"}, absl::Seconds(30), {}, input));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.stdout_text, std::to_string(input.size()) + "\n");
}

TEST(Subprocess, RunSetsAndUnsetsEnvironment) {
  setenv("WALSHIP_SUBPROCESS_TEST_GONE", "1", 1);
  SubprocessOptions options;
  options.env["WALSHIP_SUBPROCESS_TEST"] = "hello world";
  options.unset_env.push_back("WALSHIP_SUBPROCESS_TEST_GONE");
  ASSERT_OK_AND_ASSIGN(
      SubprocessResult result,
      Subprocess::Run({"/bin/sh", "-c",
                       "echo \"$WALSHIP_SUBPROCESS_TEST|${WALSHIP_SUBPROCESS_TEST_GONE-unset}\""},
                      absl::Seconds(30), options));
  EXPECT_EQ(result.stdout_text, "hello world|unset\n");
}

TEST(Subprocess, RunTimesOutAndKillsTheChild) {
  absl::Time start = absl::Now();
  auto result = Subprocess::Run({"sleep", "30"}, absl::Milliseconds(300));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("sleep 30")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(Subprocess, StartOfMissingProgramIsNotFound) {
  EXPECT_THAT(Subprocess::Start({"/nonexistent/walship-no-such-binary"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("walship-no-such-binary")));
}

TEST(Subprocess, ReadsLinesAndEchoesStdin) {
  SubprocessOptions options;
  options.stdin_mode = StreamMode::kPipe;
  ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start({"cat"}, options));
  EXPECT_TRUE(child->Running());
  ASSERT_OK(child->Write("first\nsecond\n"));
  EXPECT_THAT(child->ReadLine(absl::Seconds(10)), IsOk());
  ASSERT_OK_AND_ASSIGN(std::string second, child->ReadLine(absl::Seconds(10)));
  EXPECT_EQ(second, "second");
  EXPECT_THAT(child->ReadLine(absl::Milliseconds(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_OK(child->Write("tail-without-newline"));
  child->CloseStdin();
  ASSERT_OK_AND_ASSIGN(std::string tail, child->ReadLine(absl::Seconds(10)));
  EXPECT_EQ(tail, "tail-without-newline");
  EXPECT_THAT(child->ReadLine(absl::Seconds(10)), StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_OK_AND_ASSIGN(SubprocessResult result, child->Wait(absl::Seconds(10)));
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_FALSE(child->Running());
}

TEST(Subprocess, KillEndsAChildWithTheSignal) {
  ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start({"sleep", "30"}));
  EXPECT_THAT(child->Wait(absl::Milliseconds(100)), StatusIs(absl::StatusCode::kDeadlineExceeded));
  child->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult result, child->Wait(absl::Seconds(10)));
  EXPECT_EQ(result.term_signal, SIGTERM);
  EXPECT_EQ(result.exit_code, -1);
}

TEST(Subprocess, WritesStdoutToAFile) {
  std::string path = ::testing::TempDir() + "/walship_subprocess_out.txt";
  std::remove(path.c_str());
  SubprocessOptions options;
  options.stdout_mode = StreamMode::kFile;
  options.stdout_path = path;
  ASSERT_OK_AND_ASSIGN(SubprocessResult result,
                       Subprocess::Run({"echo", "to file"}, absl::Seconds(10), options));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.stdout_text, "");
  ASSERT_OK_AND_ASSIGN(SubprocessResult cat, Subprocess::Run({"cat", path}));
  EXPECT_EQ(cat.stdout_text, "to file\n");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace walship::testing
