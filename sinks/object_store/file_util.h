// POSIX file helpers shared by the local-directory store and the sink's staging area:
// creating directories durably, writing and fsyncing files, and turning errno into
// absl::Status with the codes STYLE.md asks for (a full disk is kResourceExhausted).
#ifndef WALSHIP_SINKS_OBJECT_STORE_FILE_UTIL_H_
#define WALSHIP_SINKS_OBJECT_STORE_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace walship::sinks {

// errno as a Status: ENOSPC/EDQUOT become kResourceExhausted "disk full <what>: ...",
// everything else absl::ErrnoToStatus with `what` as context ("writing \"/x\"").
absl::Status ErrnoStatus(int err, absl::string_view what);

// Writes all of `data` to `fd` (retrying short writes and EINTR). `what` names the target
// in errors.
absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what);

absl::Status FsyncFd(int fd, absl::string_view what);
// Opens `path` (file or directory) read-only and fsyncs it.
absl::Status FsyncPath(const std::string& path);

// Creates `dir` and any missing parents (mode 0755); after each directory it creates, the
// parent is fsynced so the new entry survives a crash. Existing directories are fine; a
// non-directory in the way is kFailedPrecondition.
absl::Status MakeDirs(const std::string& dir);

// For private working files (staging, spill): creates `dir` and its missing parents with
// mode 0700, then checks it is a directory (not a link) owned by this user and writable by
// no one else. One of ours that others may read (made 0755 by an older walship) is narrowed
// to 0700. Anything else is kFailedPrecondition naming the problem and the fix.
absl::Status MakePrivateDir(const std::string& dir);

// Checks that the file at `path` still holds what was written: `size` bytes whose last
// kFooterBytes are `footer` and whose SHA-256 before it is the digest inside that footer
// (a segment's own layout). kDataLoss naming the file when it was changed on disk.
absl::Status VerifyStagedSegment(const std::string& path, uint64_t size,
                                 absl::string_view footer);

// The directory part of `path` ("/a/b/c" -> "/a/b"; "/a" -> "/").
std::string DirName(const std::string& path);

// Reads the whole file. Missing is kNotFound.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Removes the regular files directly in `dir` whose names start with `name_prefix` (all
// of them when it is empty) and that were last modified more than `older_than` ago. A
// missing directory is fine.
absl::Status RemoveFilesIn(const std::string& dir, absl::string_view name_prefix,
                           absl::Duration older_than = absl::ZeroDuration());

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_FILE_UTIL_H_
