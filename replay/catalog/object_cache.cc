// The restore's local copy of remote objects.
#include "replay/catalog/object_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/file_util.h"
#include "sinks/object_store/layout.h"

namespace walship::replay {


ObjectCache::ObjectCache(std::unique_ptr<sinks::ObjectStore> inner, std::string dir)
    : inner_(std::move(inner)), dir_(std::move(dir)) {}

std::string ObjectCache::PathOf(absl::string_view key) const {
  return absl::StrCat(dir_, "/", key);
}

absl::Status ObjectCache::Fetch(absl::string_view key) {
  WALSHIP_RETURN_IF_ERROR(sinks::ValidateObjectKey(key));
  std::string path = PathOf(key);
  if (access(path.c_str(), F_OK) == 0) return absl::OkStatus();
  WALSHIP_ASSIGN_OR_RETURN(std::string data, inner_->Get(key));
  WALSHIP_RETURN_IF_ERROR(sinks::MakeDirs(sinks::DirName(path)));
  // A partial file never takes the object's name: written aside, then renamed. The copy
  // lives only as long as the restore, so it is not fsynced.
  std::string part = absl::StrCat(path, ".part");
  std::string what = absl::StrFormat("writing \"%s\" (the restore's copy of \"%s\")", part, key);
  int fd = open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return sinks::ErrnoStatus(errno, what);
  absl::Status written = sinks::WriteAll(fd, data, what);
  if (close(fd) != 0 && written.ok()) written = sinks::ErrnoStatus(errno, what);
  if (written.ok() && rename(part.c_str(), path.c_str()) != 0) {
    written = sinks::ErrnoStatus(errno, absl::StrFormat("renaming \"%s\"", part));
  }
  if (!written.ok()) {
    unlink(part.c_str());
    return written;
  }
  fetched_bytes_ += data.size();
  return absl::OkStatus();
}

absl::StatusOr<std::string> ObjectCache::Get(absl::string_view key) {
  WALSHIP_RETURN_IF_ERROR(sinks::ValidateObjectKey(key));
  std::string path = PathOf(key);
  if (access(path.c_str(), F_OK) == 0) return sinks::ReadFile(path);
  return inner_->Get(key);
}

absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> ObjectCache::Open(
    absl::string_view key) {
  WALSHIP_RETURN_IF_ERROR(sinks::ValidateObjectKey(key));
  std::string path = PathOf(key);
  if (access(path.c_str(), F_OK) == 0) return proto::OpenFileSource(std::string(key), path);
  return inner_->Open(key);
}

absl::StatusOr<RestoreWorkDir> RestoreWorkDir::Create(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  WALSHIP_RETURN_IF_ERROR(sinks::MakeDirs(base));
  std::string pattern = absl::StrCat(base, "/walship-restore-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return sinks::ErrnoStatus(
        errno, absl::StrFormat("creating the restore's work directory in \"%s\" (choose "
                               "another with --work-dir)",
                               base));
  }
  return RestoreWorkDir(pattern);
}

RestoreWorkDir::~RestoreWorkDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace walship::replay
