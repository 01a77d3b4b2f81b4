// Tests for the in-memory and file-backed byte sinks and sources.
#include "proto/byte_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/proto/segment_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::proto {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

int CountOpenFds() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count;
}

TEST(StringByteSink, AppendsAndCounts) {
  StringByteSink sink;
  ASSERT_OK(sink.Append("abc"));
  ASSERT_OK(sink.Append(absl::string_view("\0d", 2)));
  EXPECT_EQ(sink.size(), 5u);
  EXPECT_EQ(sink.data(), std::string("abc\0d", 5));
  EXPECT_EQ(sink.Release(), std::string("abc\0d", 5));
}

TEST(StringSource, ReadsInRangeAndRefusesPastTheEnd) {
  auto source = MakeStringSource("obj", "0123456789");
  EXPECT_EQ(source->name(), "obj");
  EXPECT_EQ(source->size(), 10u);
  std::string out;
  ASSERT_OK(source->ReadAt(3, 4, &out));
  EXPECT_EQ(out, "3456");
  ASSERT_OK(source->ReadAt(10, 0, &out));
  EXPECT_EQ(out, "");
  EXPECT_THAT(source->ReadAt(8, 3, &out),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("\"obj\"")));
  EXPECT_THAT(source->ReadAt(UINT64_MAX, 1, &out), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(FdByteSink, WritesTheFileAndReadsBackThroughFileSource) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/a.seg";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  FdByteSink sink(fd, path);
  std::string big(3 << 20, 'x');
  ASSERT_OK(sink.Append("head:"));
  ASSERT_OK(sink.Append(big));
  EXPECT_EQ(sink.size(), 5u + big.size());
  ::close(fd);

  ASSERT_OK_AND_ASSIGN(auto source, OpenFileSource("key/a.seg", path));
  EXPECT_EQ(source->name(), "key/a.seg");
  EXPECT_EQ(source->size(), 5u + big.size());
  std::string out;
  ASSERT_OK(source->ReadAt(0, 6, &out));
  EXPECT_EQ(out, "head:x");
  ASSERT_OK(source->ReadAt(5, big.size(), &out));
  EXPECT_EQ(out, big);
  EXPECT_THAT(source->ReadAt(source->size() - 1, 2, &out),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(FdByteSink, ReportsDiskFullNamingThePath) {
  int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "/dev/full is not available";
  FdByteSink sink(fd, "/spill/full.seg");
  absl::Status status = sink.Append("data");
  ::close(fd);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted,
                               ::testing::AllOf(HasSubstr("disk full"),
                                                HasSubstr("/spill/full.seg"))));
}

TEST(FdByteSink, ReportsOtherErrorsWithErrnoText) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/ro";
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  FdByteSink sink(fd, path);
  absl::Status status = sink.Append("data");
  ::close(fd);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("Bad file descriptor"));
  EXPECT_EQ(sink.size(), 0u);
}

TEST(OpenFileSource, NamesAMissingFile) {
  EXPECT_THAT(OpenFileSource("k", "/nonexistent/walship/x.seg"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/walship/x.seg")));
}

TEST(OpenFileSource, RefusesADirectory) {
  testing::TempDir dir;
  EXPECT_THAT(OpenFileSource("k", dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a regular file")));
}

TEST(OpenFileSource, ClosesItsDescriptorWhenDestroyed) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/f";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const int before = CountOpenFds();
  {
    ASSERT_OK_AND_ASSIGN(auto source, OpenFileSource("k", path));
    EXPECT_EQ(CountOpenFds(), before + 1);
    EXPECT_EQ(source->size(), 0u);
  }
  EXPECT_EQ(CountOpenFds(), before);
}

}  // namespace
}  // namespace walship::proto
