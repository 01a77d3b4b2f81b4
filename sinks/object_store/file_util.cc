// POSIX file helpers for the local store and the sink's staging area.
#include "sinks/object_store/file_util.h"

#include "proto/core/status_macros.h"
#include "proto/segment_coding.h"

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

namespace walship::sinks {

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

namespace {

absl::Status MakeDirsWithMode(const std::string& dir, mode_t mode) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) == 0) return absl::OkStatus();
  if (errno != ENOENT) return ErrnoStatus(errno, absl::StrFormat("examining \"%s\"", dir));
  std::string parent = DirName(dir);
  if (parent != dir) WALSHIP_RETURN_IF_ERROR(MakeDirsWithMode(parent, mode));
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrFormat("creating directory \"%s\"", dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MakePrivateDir(const std::string& dir) {
  WALSHIP_RETURN_IF_ERROR(MakeDirsWithMode(dir, 0700));
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrFormat("examining \"%s\"", dir));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "work directory \"%s\" is not a directory (a symbolic link or a file): another "
        "local user may have put it there; remove it or choose another --work-dir",
        dir));
  }
  if (st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "work directory \"%s\" belongs to user id %d, not to this user (%d): another local "
        "user could read the plaintext rows staged there or swap a staged segment; remove it "
        "or choose another --work-dir",
        dir, st.st_uid, ::geteuid()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "work directory \"%s\" is writable by group or others (mode %04o): another local "
        "user could swap a staged segment before it is uploaded; chmod 700 it or choose "
        "another --work-dir",
        dir, st.st_mode & 07777));
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return ErrnoStatus(errno, absl::StrFormat("making \"%s\" private (chmod 700)", dir));
  }
  return absl::OkStatus();
}

absl::Status VerifyStagedSegment(const std::string& path, uint64_t size,
                                 absl::string_view footer) {
  auto changed = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrFormat(
        "staging file \"%s\" changed on disk after it was written (%s): it is not uploaded. "
        "Is another process writing in the --work-dir?",
        path, what));
  };
  WALSHIP_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  if (data.size() != size) {
    return changed(absl::StrFormat("%d bytes, %d written", data.size(), size));
  }
  constexpr size_t kDigestOffset = 4;  // footer: u32 offset | sha256 | magic
  if (footer.size() < kDigestOffset + 32 || data.size() < footer.size() ||
      absl::string_view(data).substr(data.size() - footer.size()) != footer) {
    return changed("its footer differs");
  }
  proto::internal::Sha256 sha;
  sha.Update(absl::string_view(data).substr(0, data.size() - footer.size()));
  auto digest = sha.Finish();
  if (absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()) !=
      footer.substr(kDigestOffset, 32)) {
    return changed("its content differs from its checksum");
  }
  return absl::OkStatus();
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

}  // namespace walship::sinks
