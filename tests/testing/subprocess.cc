// Subprocess: posix_spawn with pipes, a poll loop for reading/writing them, and reaping.
#include "tests/testing/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace walship::testing {
namespace {

// How long Wait() keeps reading pipes after the child exited (a grandchild may hold them).
constexpr absl::Duration kPipeGrace = absl::Seconds(2);
// Longest single poll, so a reaped child is noticed quickly.
constexpr absl::Duration kPollSlice = absl::Milliseconds(20);

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

std::string Tail(const std::string& text, size_t max) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// The child's argv, environment and standard streams, prepared by Start().
struct ChildPlan {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  int stdio[3] = {-1, -1, -1};                         // fds to dup2 onto 0, 1, 2
  const char* paths[3] = {nullptr, nullptr, nullptr};  // kFile/kNull: opened for the child
  const char* working_dir = nullptr;
};

// Owns posix_spawn's attribute and file-action objects.
struct SpawnPlan {
  SpawnPlan() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnPlan() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
};

}  // namespace

std::string SubprocessResult::Describe() const {
  if (term_signal != 0) return absl::StrCat("signal ", term_signal);
  return absl::StrCat("exit ", exit_code);
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const SubprocessOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("subprocess: empty argv");
  // A write to a child that exited must be an EPIPE error, not the death of the test.
  signal(SIGPIPE, SIG_IGN);

  ChildPlan plan;
  plan.argv_storage = argv;
  for (std::string& arg : plan.argv_storage) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view kv(*entry);
    size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  for (const std::string& name : options.unset_env) env.erase(name);
  for (const auto& [name, value] : options.env) env[name] = value;
  for (const auto& [name, value] : env) plan.env_storage.push_back(name + "=" + value);
  for (std::string& kv : plan.env_storage) plan.envp.push_back(kv.data());
  plan.envp.push_back(nullptr);
  if (!options.working_dir.empty()) plan.working_dir = options.working_dir.c_str();

  std::unique_ptr<Subprocess> child(new Subprocess());
  int child_ends[3] = {-1, -1, -1};
  auto close_child_ends = [&child_ends] {
    for (int& fd : child_ends) CloseFd(fd);
  };
  const StreamMode modes[3] = {options.stdin_mode, options.stdout_mode, options.stderr_mode};
  const std::string* paths[3] = {&options.stdin_path, &options.stdout_path,
                                 &options.stderr_path};
  for (int target = 0; target < 3; ++target) {
    switch (modes[target]) {
      case StreamMode::kInherit:
        break;
      case StreamMode::kNull:
        plan.paths[target] = "/dev/null";
        break;
      case StreamMode::kFile:
        if (paths[target]->empty()) {
          close_child_ends();
          return absl::InvalidArgumentError("subprocess: kFile stream without a path");
        }
        plan.paths[target] = paths[target]->c_str();
        break;
      case StreamMode::kPipe: {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
          close_child_ends();
          return absl::ErrnoToStatus(errno, "subprocess: pipe");
        }
        int parent_end = target == 0 ? fds[1] : fds[0];
        child_ends[target] = target == 0 ? fds[0] : fds[1];
        plan.stdio[target] = child_ends[target];
        fcntl(parent_end, F_SETFL, fcntl(parent_end, F_GETFL) | O_NONBLOCK);
        if (target == 0) child->stdin_fd_ = parent_end;
        if (target == 1) child->stdout_.fd = parent_end;
        if (target == 2) child->stderr_.fd = parent_end;
        break;
      }
    }
  }
  // Pipe ends are CLOEXEC; the dup2 onto 0/1/2 in the child clears the flag on its copy.
  // posix_spawn (vfork-like in glibc) rather than fork: cheap even for a large sanitized test
  // process, and exec failures come back as its return value.
  SpawnPlan spawn;
  sigset_t empty_mask, default_signals;
  sigemptyset(&empty_mask);
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);  // ignored here, default in the child
  posix_spawnattr_setflags(&spawn.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&spawn.attr, 0);
  posix_spawnattr_setsigmask(&spawn.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&spawn.attr, &default_signals);
  for (int target = 0; target < 3; ++target) {
    if (plan.paths[target] != nullptr) {
      int flags = target == 0 ? O_RDONLY : (O_WRONLY | O_CREAT | O_APPEND);
      posix_spawn_file_actions_addopen(&spawn.actions, target, plan.paths[target], flags, 0644);
    } else if (plan.stdio[target] >= 0) {
      posix_spawn_file_actions_adddup2(&spawn.actions, plan.stdio[target], target);
    }
  }
  posix_spawn_file_actions_addclosefrom_np(&spawn.actions, 3);
  if (plan.working_dir != nullptr) {
    posix_spawn_file_actions_addchdir_np(&spawn.actions, plan.working_dir);
  }
  pid_t pid = -1;
  int err = posix_spawnp(&pid, plan.argv[0], &spawn.actions, &spawn.attr, plan.argv.data(),
                         plan.envp.data());
  close_child_ends();
  if (err != 0) {
    absl::Status status =
        absl::ErrnoToStatus(err, absl::StrCat("subprocess: cannot start \"", argv[0], "\""));
    if (err == ENOENT) return absl::NotFoundError(status.message());
    return status;
  }
  child->pid_ = pid;
  return child;
}

absl::StatusOr<SubprocessResult> Subprocess::Run(const std::vector<std::string>& argv,
                                                 absl::Duration timeout,
                                                 const SubprocessOptions& options,
                                                 absl::string_view stdin_text) {
  SubprocessOptions run_options = options;
  if (!stdin_text.empty()) run_options.stdin_mode = StreamMode::kPipe;
  auto started = Start(argv, run_options);
  if (!started.ok()) return started.status();
  std::unique_ptr<Subprocess> child = *std::move(started);
  absl::Time deadline = absl::Now() + timeout;
  if (!stdin_text.empty()) {
    absl::Status written = child->Write(stdin_text);
    if (!written.ok() && !absl::IsFailedPrecondition(written)) return written;
    child->CloseStdin();
  }
  auto result = child->Wait(std::max(deadline - absl::Now(), absl::ZeroDuration()));
  if (absl::IsDeadlineExceeded(result.status())) {
    std::string out = Tail(child->stdout_.buffer, 2000);
    std::string err = Tail(child->stderr_.buffer, 2000);
    return absl::DeadlineExceededError(
        absl::StrCat("subprocess: \"", absl::StrJoin(argv, " "), "\" did not finish within ",
                     absl::FormatDuration(timeout), "; stdout: ", out, "; stderr: ", err));
  }
  return result;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !reaped_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  CloseFd(stdin_fd_);
  CloseFd(stdout_.fd);
  CloseFd(stderr_.fd);
}

absl::Status Subprocess::Write(absl::string_view data) {
  if (stdin_fd_ < 0) return absl::FailedPreconditionError("subprocess: stdin is not a pipe");
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!data.empty()) {
    ssize_t n = write(stdin_fd_, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      return absl::ErrnoToStatus(errno, "subprocess: writing to the child's stdin");
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("subprocess: the child does not read its stdin");
    }
    // The pipe is full: drain the child's output meanwhile so neither side blocks forever.
    struct pollfd pfd = {stdin_fd_, POLLOUT, 0};
    poll(&pfd, 1, 0);
    if ((pfd.revents & POLLOUT) == 0) Pump(absl::Now() + kPollSlice);
  }
  return absl::OkStatus();
}

void Subprocess::CloseStdin() { CloseFd(stdin_fd_); }

void Subprocess::Pump(absl::Time deadline) {
  struct pollfd pfds[2];
  Pipe* pipes[2];
  int count = 0;
  for (Pipe* pipe : {&stdout_, &stderr_}) {
    if (pipe->fd < 0 || pipe->eof) continue;
    pfds[count] = {pipe->fd, POLLIN, 0};
    pipes[count++] = pipe;
  }
  absl::Duration wait = std::clamp(deadline - absl::Now(), absl::ZeroDuration(), kPollSlice);
  int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(wait));
  if (count == 0) {
    if (timeout_ms > 0) usleep(static_cast<useconds_t>(timeout_ms) * 1000);
    return;
  }
  if (poll(pfds, count, timeout_ms) <= 0) return;
  for (int i = 0; i < count; ++i) {
    if (pfds[i].revents == 0) continue;
    char buffer[65536];
    ssize_t n = read(pipes[i]->fd, buffer, sizeof(buffer));
    if (n > 0) {
      pipes[i]->buffer.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      pipes[i]->eof = true;
      CloseFd(pipes[i]->fd);
    }
  }
}

absl::StatusOr<std::string> Subprocess::ReadLine(absl::Duration timeout, Stream stream) {
  Pipe& pipe = PipeFor(stream);
  if (pipe.fd < 0 && !pipe.eof && pipe.buffer.empty()) {
    return absl::FailedPreconditionError("subprocess: stream is not a pipe");
  }
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t newline = pipe.buffer.find('\n');
    if (newline != std::string::npos) {
      std::string line = pipe.buffer.substr(0, newline);
      pipe.buffer.erase(0, newline + 1);
      return line;
    }
    if (pipe.eof) {
      if (pipe.buffer.empty()) return absl::OutOfRangeError("subprocess: end of stream");
      return std::exchange(pipe.buffer, std::string());
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "subprocess: no line within ", absl::FormatDuration(timeout), " (have \"",
          Tail(pipe.buffer, 200), "\")"));
    }
    Pump(deadline);
  }
}

void Subprocess::Kill(int signal) {
  if (pid_ > 0 && !Reap()) kill(pid_, signal);
}

bool Subprocess::Reap() {
  if (reaped_) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    wait_status_ = status;
  } else if (r < 0 && errno == ECHILD) {
    reaped_ = true;  // reaped elsewhere; exit status unknown
    wait_status_ = 0xff00;
  }
  return reaped_;
}

bool Subprocess::Running() { return !Reap(); }

absl::StatusOr<SubprocessResult> Subprocess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Time pipes_deadline = absl::InfiniteFuture();
  while (true) {
    bool pipes_open = (stdout_.fd >= 0 && !stdout_.eof) || (stderr_.fd >= 0 && !stderr_.eof);
    if (Reap()) {
      if (!pipes_open) break;
      if (pipes_deadline == absl::InfiniteFuture()) {
        pipes_deadline = std::min(deadline, absl::Now() + kPipeGrace);
      }
      if (absl::Now() >= pipes_deadline) break;
    } else if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "subprocess: pid ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    Pump(std::min(deadline, pipes_deadline));
  }
  SubprocessResult result;
  if (WIFEXITED(wait_status_)) {
    result.exit_code = WEXITSTATUS(wait_status_);
  } else if (WIFSIGNALED(wait_status_)) {
    result.term_signal = WTERMSIG(wait_status_);
  }
  result.stdout_text = std::exchange(stdout_.buffer, std::string());
  result.stderr_text = std::exchange(stderr_.buffer, std::string());
  return result;
}

}  // namespace walship::testing
