// POSIX file helpers for the local store and the sink's staging area.
#include "sinks/object_store/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace walship::sinks::fileutil {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  if (err == ENOSPC || err == EDQUOT) {
    return absl::ResourceExhaustedError(
        absl::StrCat("disk full ", what, ": ", std::strerror(err), "; free space and restart"));
  }
  return absl::ErrnoToStatus(err, what);
}

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t wrote = ::write(fd, p, left);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, what);
    }
    p += wrote;
    left -= static_cast<size_t>(wrote);
  }
  return absl::OkStatus();
}

absl::Status FsyncFd(int fd, absl::string_view what) {
  if (::fsync(fd) != 0) return ErrnoStatus(errno, absl::StrCat("syncing ", what));
  return absl::OkStatus();
}

absl::Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrFormat("opening \"%s\" to sync it", path));
  absl::Cleanup closer = [fd] { ::close(fd); };
  return FsyncFd(fd, absl::StrFormat("\"%s\"", path));
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrFormat("\"%s\" exists and is not a directory", dir));
  }
  if (errno != ENOENT) return ErrnoStatus(errno, absl::StrFormat("examining \"%s\"", dir));
  std::string parent = DirName(dir);
  if (parent != dir) {
    absl::Status status = MakeDirs(parent);
    if (!status.ok()) return status;
  }
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) return absl::OkStatus();  // made by someone else meanwhile
    return ErrnoStatus(errno, absl::StrFormat("creating directory \"%s\"", dir));
  }
  return FsyncPath(parent);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrFormat("\"%s\" not found", path));
    return ErrnoStatus(err, absl::StrFormat("opening \"%s\"", path));
  }
  absl::Cleanup closer = [fd] { ::close(fd); };
  std::string data;
  char buffer[64 * 1024];
  while (true) {
    ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrFormat("reading \"%s\"", path));
    }
    if (got == 0) break;
    data.append(buffer, static_cast<size_t>(got));
  }
  return data;
}

absl::Status RemoveFilesIn(const std::string& dir, absl::string_view name_prefix,
                           absl::Duration older_than) {
  const absl::Time cutoff = absl::Now() - older_than;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrFormat("listing \"%s\"", dir));
  }
  absl::Cleanup closer = [d] { ::closedir(d); };
  bool removed = false;
  while (struct dirent* entry = ::readdir(d)) {
    absl::string_view name = entry->d_name;
    if (name == "." || name == ".." || !absl::StartsWith(name, name_prefix)) continue;
    std::string path = absl::StrCat(dir, "/", name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (older_than > absl::ZeroDuration() && absl::TimeFromTimespec(st.st_mtim) > cutoff) {
      continue;
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrFormat("removing leftover \"%s\"", path));
    }
    removed = true;
  }
  if (removed) return FsyncPath(dir);
  return absl::OkStatus();
}

}  // namespace walship::sinks::fileutil
