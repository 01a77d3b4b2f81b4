// Tests for the POSIX helpers: error codes and leftover cleanup.
#include "sinks/object_store/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sinks/object_store/sinks_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks::fileutil {
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
  test_util::TempDir dir;
  ASSERT_OK(MakeDirs(dir.Sub("a/b/c")));
  EXPECT_TRUE(std::filesystem::is_directory(dir.Sub("a/b/c")));
  ASSERT_OK(MakeDirs(dir.Sub("a/b/c")));  // existing is fine
  std::ofstream(dir.Sub("file")) << "x";
  EXPECT_THAT(MakeDirs(dir.Sub("file")), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RemoveFilesIn, RemovesOnlyMatchingFiles) {
  test_util::TempDir dir;
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
}  // namespace walship::sinks::fileutil
