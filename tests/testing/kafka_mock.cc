// KafkaMockCluster: the walship_mockcluster helper behind a pipe on its stdin and stdout.
#include "tests/testing/kafka_mock.h"

#include <signal.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "proto/core/status_macros.h"
#include "tests/testing/binaries.h"

namespace walship::testing {
namespace {
constexpr absl::Duration kAnswerTimeout = absl::Seconds(20);
}  // namespace

absl::StatusOr<std::unique_ptr<KafkaMockCluster>> KafkaMockCluster::Start(
    int brokers, const std::vector<std::string>& topics, std::string binary) {
  if (binary.empty()) binary = MockClusterBinary();
  if (binary.empty()) {
    return absl::FailedPreconditionError(
        "kafka mock: no walship_mockcluster path (build it, or set WALSHIP_MOCKCLUSTER_BIN)");
  }
  std::vector<std::string> argv = {binary, absl::StrCat(brokers)};
  argv.insert(argv.end(), topics.begin(), topics.end());
  SubprocessOptions options;
  options.stdin_mode = StreamMode::kPipe;
  options.stdout_mode = StreamMode::kPipe;
  options.stderr_mode = StreamMode::kInherit;
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> process, Subprocess::Start(argv, options));
  auto line = process->ReadLine(kAnswerTimeout);
  if (absl::IsOutOfRange(line.status())) {
    process->Kill(SIGKILL);
    auto ended = process->Wait(absl::Seconds(10));
    return absl::InternalError(absl::StrCat(
        "kafka mock: the helper ended before printing its bootstrap servers (",
        ended.ok() ? ended->Describe() : std::string(ended.status().message()), ")"));
  }
  if (!line.ok()) return Annotate(line.status(), "kafka mock: waiting for the bootstrap line");
  absl::string_view bootstrap = *line;
  if (!absl::ConsumePrefix(&bootstrap, "BOOTSTRAP ") || bootstrap.empty()) {
    return absl::InternalError(absl::StrCat("kafka mock: unexpected first line \"", *line, "\""));
  }
  return std::unique_ptr<KafkaMockCluster>(
      new KafkaMockCluster(std::move(process), std::string(bootstrap)));
}

absl::StatusOr<int> KafkaMockCluster::Command(absl::string_view line) {
  if (absl::StrContains(line, '\n')) {
    return absl::InvalidArgumentError("kafka mock: a command is one line");
  }
  WALSHIP_RETURN_IF_ERROR(process_->Write(absl::StrCat(line, "\n")));
  auto answer = process_->ReadLine(kAnswerTimeout);
  if (!answer.ok()) {
    return Annotate(answer.status(), absl::StrCat("kafka mock: command \"", line, "\""));
  }
  absl::string_view rest = *answer;
  int rc = 0;
  if (absl::ConsumePrefix(&rest, "OK ") && absl::SimpleAtoi(rest, &rc)) return rc;
  return absl::InvalidArgumentError(
      absl::StrCat("kafka mock: command \"", line, "\" answered \"", *answer, "\""));
}

absl::Status KafkaMockCluster::Stop() {
  process_->Kill(SIGTERM);
  auto result = process_->Wait(absl::Seconds(30));
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return absl::InternalError(absl::StrCat("kafka mock: exited with ", result->Describe()));
  }
  return absl::OkStatus();
}

}  // namespace walship::testing
