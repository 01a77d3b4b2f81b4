// Tests for the POSIX helpers: error codes and leftover cleanup.
#include "sinks/object_store/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

TEST(ErrnoStatus, FullDiskIsResourceExhausted) {
  EXPECT_THAT(ErrnoStatus(ENOSPC, "writing \"x\""),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("disk full writing \"x\"")));
  EXPECT_THAT(ErrnoStatus(EDQUOT, "writing \"x\""),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(ErrnoStatus(EACCES, "opening \"y\""),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("opening \"y\"")));
}

TEST(WriteAll, FullDeviceIsResourceExhausted) {
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "no /dev/full";
  EXPECT_THAT(WriteAll(fd, "data", "writing \"/dev/full\""),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("disk full")));
  ::close(fd);
}

TEST(MakeDirs, CreatesParentsAndRefusesFiles) {
  ::walship::testing::TempDir dir;
  ASSERT_OK(MakeDirs(dir.Sub("a/b/c")));
  EXPECT_TRUE(std::filesystem::is_directory(dir.Sub("a/b/c")));
  ASSERT_OK(MakeDirs(dir.Sub("a/b/c")));  // existing is fine
  std::ofstream(dir.Sub("file")) << "x";
  EXPECT_THAT(MakeDirs(dir.Sub("file")), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RemoveFilesIn, RemovesOnlyMatchingFiles) {
  ::walship::testing::TempDir dir;
  std::ofstream(dir.Sub("walship-segment-1")) << "x";
  std::ofstream(dir.Sub("other")) << "x";
  ASSERT_OK(MakeDirs(dir.Sub("walship-segment-dir")));
  ASSERT_OK(RemoveFilesIn(dir.path(), "walship-segment-"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("walship-segment-1")));
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("other")));
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("walship-segment-dir")));
  ASSERT_OK(RemoveFilesIn(dir.Sub("missing"), ""));
}

}  // namespace
}  // namespace walship::sinks

namespace walship::sinks {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Work directories hold plaintext rows: created 0700, ours, writable by no one else.
TEST(MakePrivateDir, CreatesPrivateDirectoriesAndRefusesSharedOnes) {
  ::walship::testing::TempDir dir;
  const std::string work = dir.Sub("work/slot/staging");
  ASSERT_OK(MakePrivateDir(work));
  EXPECT_EQ(ModeOf(work), 0700u);
  EXPECT_EQ(ModeOf(dir.Sub("work")), 0700u);  // parents it made too

  // One of ours that others could read (an older walship made it 0755): narrowed.
  ASSERT_EQ(::chmod(work.c_str(), 0755), 0);
  ASSERT_OK(MakePrivateDir(work));
  EXPECT_EQ(ModeOf(work), 0700u);

  // Writable by group or others: refused, and left as it is.
  ASSERT_EQ(::chmod(work.c_str(), 0777), 0);
  absl::Status shared = MakePrivateDir(work);
  EXPECT_EQ(shared.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(shared.message(), ::testing::HasSubstr("writable by group or others"));
  EXPECT_THAT(shared.message(), ::testing::HasSubstr(work));

  // A symbolic link planted where the directory should be: refused.
  const std::string link = dir.Sub("planted");
  ASSERT_EQ(::symlink(work.c_str(), link.c_str()), 0);
  EXPECT_THAT(MakePrivateDir(link).message(), ::testing::HasSubstr("not a directory"));

  // Owned by another user (only root can build that case).
  if (::geteuid() == 0) {
    const std::string foreign = dir.Sub("foreign");
    ASSERT_EQ(::mkdir(foreign.c_str(), 0700), 0);
    ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
    absl::Status owned = MakePrivateDir(foreign);
    EXPECT_EQ(owned.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(owned.message(), ::testing::HasSubstr("belongs to user id 65534"));
  }
}

}  // namespace
}  // namespace walship::sinks
