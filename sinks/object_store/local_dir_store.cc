// The local-directory object store: write-once files made durable with fsync and link(2).
#include "sinks/object_store/local_dir_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/file_util.h"
#include "sinks/object_store/layout.h"

namespace walship::sinks {
namespace {

using sinks::ErrnoStatus;

constexpr absl::string_view kTempDirName = ".tmp";
// A temporary file is written and linked within seconds; one untouched this long is a
// crash's leftover.
constexpr absl::Duration kStaleTempAge = absl::Hours(1);

}  // namespace

absl::StatusOr<std::unique_ptr<LocalDirStore>> LocalDirStore::OpenDir(const std::string& dir) {
  if (dir.empty() || dir.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrFormat("object store directory \"%s\" must be an absolute path", dir));
  }
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  std::string temp_dir = absl::StrCat(clean == "/" ? "" : clean, "/", kTempDirName);
  WALSHIP_RETURN_IF_ERROR(Annotate(sinks::MakeDirs(temp_dir),
                                   absl::StrFormat("opening object store file://%s", clean)));
  // A crash between creating a temporary file and linking it leaves it here; it was never
  // an object, so it is removed. Only old ones: another process (an agent writing while
  // walship-replay lists the store) may be writing the fresh ones right now.
  WALSHIP_RETURN_IF_ERROR(sinks::RemoveFilesIn(temp_dir, "", kStaleTempAge));
  return std::unique_ptr<LocalDirStore>(new LocalDirStore(clean == "/" ? "" : clean));
}

std::string LocalDirStore::url() const {
  return absl::StrCat("file://", dir_.empty() ? "/" : dir_);
}

absl::StatusOr<std::string> LocalDirStore::PathOf(absl::string_view key) const {
  WALSHIP_RETURN_IF_ERROR(ValidateObjectKey(key));
  if (key == kTempDirName || absl::StartsWith(key, absl::StrCat(kTempDirName, "/"))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid object key \"%s\": \"%s/\" is reserved for temporary files", key, kTempDirName));
  }
  return absl::StrCat(dir_, "/", key);
}

absl::Status LocalDirStore::CreateTemp(int* fd, std::string* path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    *path = absl::StrFormat("%s/%s/%d-%d", dir_, kTempDirName, ::getpid(), next_temp_.fetch_add(1));
    *fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (*fd >= 0) return absl::OkStatus();
    if (errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrFormat("creating temporary file \"%s\"", *path));
    }
  }
  return absl::InternalError(absl::StrFormat(
      "could not find a free temporary file name in \"%s/%s\"", dir_, kTempDirName));
}

absl::Status LocalDirStore::LinkInto(const std::string& from, absl::string_view key,
                                     const std::string& path) {
  std::string parent = sinks::DirName(path);
  WALSHIP_RETURN_IF_ERROR(sinks::MakeDirs(parent));
  if (::link(from.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "object \"%s\" already exists in %s (objects are written once)", key, url()));
    }
    return ErrnoStatus(err, absl::StrFormat("writing object \"%s\" in %s", key, url()));
  }
  return sinks::FsyncPath(parent);
}

absl::Status LocalDirStore::Put(absl::string_view key, absl::string_view data) {
  WALSHIP_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  int fd = -1;
  std::string temp;
  WALSHIP_RETURN_IF_ERROR(CreateTemp(&fd, &temp));
  // The temporary name is removed whatever happens; on success the object keeps the inode.
  absl::Cleanup remove_temp = [&temp] { ::unlink(temp.c_str()); };
  std::string what = absl::StrFormat("writing object \"%s\" in %s", key, url());
  absl::Status status = sinks::WriteAll(fd, data, what);
  if (status.ok()) status = sinks::FsyncFd(fd, what);
  if (::close(fd) != 0 && status.ok()) status = ErrnoStatus(errno, what);
  WALSHIP_RETURN_IF_ERROR(status);
  return LinkInto(temp, key, path);
}

absl::Status LocalDirStore::PutFile(absl::string_view key, const std::string& path) {
  WALSHIP_ASSIGN_OR_RETURN(std::string dest, PathOf(key));
  // The file's data must be durable before any name makes it an object.
  WALSHIP_RETURN_IF_ERROR(sinks::FsyncPath(path));
  std::string parent = sinks::DirName(dest);
  WALSHIP_RETURN_IF_ERROR(sinks::MakeDirs(parent));
  if (::link(path.c_str(), dest.c_str()) == 0) {
    WALSHIP_RETURN_IF_ERROR(sinks::FsyncPath(parent));
    ::unlink(path.c_str());
    return absl::OkStatus();
  }
  int err = errno;
  if (err == EEXIST) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "object \"%s\" already exists in %s (objects are written once)", key, url()));
  }
  if (err != EXDEV) {
    return ErrnoStatus(
        err, absl::StrFormat("writing object \"%s\" in %s from \"%s\"", key, url(), path));
  }
  // Another file system: copy into the temporary area, then link as Put() does.
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoStatus(errno, absl::StrFormat("opening \"%s\"", path));
  absl::Cleanup close_in = [in] { ::close(in); };
  int out = -1;
  std::string temp;
  WALSHIP_RETURN_IF_ERROR(CreateTemp(&out, &temp));
  absl::Cleanup remove_temp = [&temp] { ::unlink(temp.c_str()); };
  std::string what = absl::StrFormat("writing object \"%s\" in %s", key, url());
  absl::Status status;
  char buffer[256 * 1024];
  while (status.ok()) {
    ssize_t got = ::read(in, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      status = ErrnoStatus(errno, absl::StrFormat("reading \"%s\"", path));
      break;
    }
    if (got == 0) break;
    status = sinks::WriteAll(out, absl::string_view(buffer, static_cast<size_t>(got)), what);
  }
  if (status.ok()) status = sinks::FsyncFd(out, what);
  if (::close(out) != 0 && status.ok()) status = ErrnoStatus(errno, what);
  WALSHIP_RETURN_IF_ERROR(status);
  WALSHIP_RETURN_IF_ERROR(LinkInto(temp, key, dest));
  ::unlink(path.c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::string> LocalDirStore::Get(absl::string_view key) {
  WALSHIP_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  absl::StatusOr<std::string> data = sinks::ReadFile(path);
  if (absl::IsNotFound(data.status())) {
    return absl::NotFoundError(absl::StrFormat("object \"%s\" not found in %s", key, url()));
  }
  return data;
}

absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> LocalDirStore::Open(
    absl::string_view key) {
  WALSHIP_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> source =
      proto::OpenFileSource(std::string(key), path);
  if (absl::IsNotFound(source.status())) {
    return absl::NotFoundError(absl::StrFormat("object \"%s\" not found in %s", key, url()));
  }
  return source;
}

absl::StatusOr<std::vector<ObjectInfo>> LocalDirStore::List(absl::string_view prefix) {
  // Start at the deepest directory the prefix names completely; its segments are checked
  // like a key's so that a prefix cannot lead outside the store.
  size_t slash = prefix.rfind('/');
  std::string start_rel;
  if (slash != absl::string_view::npos) {
    start_rel = std::string(prefix.substr(0, slash));
    WALSHIP_RETURN_IF_ERROR(ValidateObjectKey(start_rel));
    start_rel += '/';
  }
  std::vector<ObjectInfo> objects;
  if (absl::StartsWith(start_rel, absl::StrCat(kTempDirName, "/"))) return objects;
  std::vector<std::string> pending = {start_rel};
  while (!pending.empty()) {
    std::string rel = std::move(pending.back());
    pending.pop_back();
    std::string dir_path = absl::StrCat(dir_, "/", rel);
    DIR* d = ::opendir(dir_path.c_str());
    if (d == nullptr) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) continue;
      return ErrnoStatus(err, absl::StrFormat("listing \"%s\" in %s", rel, url()));
    }
    absl::Cleanup closer = [d] { ::closedir(d); };
    while (struct dirent* entry = ::readdir(d)) {
      absl::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (rel.empty() && name == kTempDirName) continue;
      std::string key = absl::StrCat(rel, name);
      struct stat st;
      if (::fstatat(::dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        std::string sub = key + "/";
        if (absl::StartsWith(sub, prefix) || absl::StartsWith(prefix, sub)) {
          pending.push_back(std::move(sub));
        }
      } else if (S_ISREG(st.st_mode) && absl::StartsWith(key, prefix) &&
                 ValidateObjectKey(key).ok()) {
        objects.push_back(ObjectInfo{std::move(key), static_cast<uint64_t>(st.st_size)});
      }
    }
  }
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

absl::Status LocalDirStore::Delete(absl::string_view key) {
  WALSHIP_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  if (::unlink(path.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return absl::OkStatus();
    return ErrnoStatus(err, absl::StrFormat("deleting object \"%s\" in %s", key, url()));
  }
  return sinks::FsyncPath(sinks::DirName(path));
}

}  // namespace walship::sinks
