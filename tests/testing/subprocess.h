// Subprocess: runs another program for a test (psql, pg_ctl, the mock Kafka cluster, the
// walship-agent and walship-replay binaries), either to completion with its output captured,
// or in the background with line-by-line reads of its stdout/stderr and writes to its stdin.
//
//   ASSERT_OK_AND_ASSIGN(SubprocessResult r, Subprocess::Run({"/usr/bin/psql", "-c", "..."}));
//   EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
//
//   SubprocessOptions options;
//   options.stdin_mode = StreamMode::kPipe;
//   ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start({path, "3"}, options));
//   ASSERT_OK_AND_ASSIGN(std::string line, child->ReadLine(absl::Seconds(10)));
//
// The child runs in its own process group, with stdin/stdout/stderr set up as asked and every
// other file descriptor closed. A Subprocess object is not thread-safe: use it from one thread.
// Its destructor SIGKILLs the child's process group if the child is still running and reaps it.
#ifndef WALSHIP_TESTS_TESTING_SUBPROCESS_H_
#define WALSHIP_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace walship::testing {

// Where one of the child's standard streams goes.
enum class StreamMode {
  kInherit,  // the test process's own stream (test logs show it)
  kPipe,     // a pipe to this object: Write()/ReadLine()/captured text
  kNull,     // /dev/null
  kFile,     // a file (the *_path option); stdout/stderr append, stdin reads
};

struct SubprocessOptions {
  // Variables set (or replaced) in the child's environment, on top of this process's.
  std::map<std::string, std::string> env;
  // Variables removed from the child's environment.
  std::vector<std::string> unset_env;
  // Working directory of the child; empty keeps ours.
  std::string working_dir;
  StreamMode stdin_mode = StreamMode::kNull;
  StreamMode stdout_mode = StreamMode::kPipe;
  StreamMode stderr_mode = StreamMode::kPipe;
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
};

// How a finished child ended, and what it wrote to piped streams.
struct SubprocessResult {
  int exit_code = -1;    // the exit status, or -1 when killed by a signal
  int term_signal = 0;   // the signal that killed it, or 0
  std::string stdout_text;
  std::string stderr_text;

  bool ok() const { return exit_code == 0; }
  // "exit 3" / "signal 9", for messages.
  std::string Describe() const;
};

class Subprocess {
 public:
  enum class Stream { kStdout, kStderr };

  // Runs argv[0] (an absolute path, or a name looked up in PATH) to completion. `stdin_text`
  // is written to its stdin (a pipe then). Killed with SIGKILL after `timeout`, which
  // returns kDeadlineExceeded. A non-zero exit is not an error here: check the result.
  static absl::StatusOr<SubprocessResult> Run(const std::vector<std::string>& argv,
                                              absl::Duration timeout = absl::Seconds(120),
                                              const SubprocessOptions& options = {},
                                              absl::string_view stdin_text = "");

  // Starts argv[0] in the background. kNotFound when the program does not exist.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                           const SubprocessOptions& options = {});

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }

  // Writes to the child's stdin (kPipe only).
  absl::Status Write(absl::string_view data);
  // Closes the child's stdin, so it sees end of file.
  void CloseStdin();

  // Next line (without its '\n') from a piped stream. kDeadlineExceeded after `timeout`,
  // kOutOfRange at end of stream (a last unterminated line is returned first).
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout, Stream stream = Stream::kStdout);

  // Sends `signal` to the child (not its group). No-op once it has been reaped.
  void Kill(int signal);

  // True until the child has exited (reaps it if it just did).
  bool Running();

  // Waits for the child to exit and for its piped streams to close, collecting whatever was
  // not read by ReadLine into the result. kDeadlineExceeded (child left running) on timeout.
  absl::StatusOr<SubprocessResult> Wait(absl::Duration timeout);

 private:
  struct Pipe {
    int fd = -1;
    std::string buffer;  // read but not yet returned by ReadLine
    bool eof = false;
  };

  Subprocess() = default;
  // Reads what is available on the open pipes, waiting at most until `deadline`.
  void Pump(absl::Time deadline);
  // Reaps the child without blocking; true once it has exited.
  bool Reap();
  Pipe& PipeFor(Stream stream) { return stream == Stream::kStdout ? stdout_ : stderr_; }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  int stdin_fd_ = -1;
  Pipe stdout_;
  Pipe stderr_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_SUBPROCESS_H_
