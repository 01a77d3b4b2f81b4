// The progress line and the non-terminal renderer.
#include "agent/snapshot/base_progress.h"

#include <fcntl.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::agent::snapshot {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(BaseProgressTest, FormatsTablesRowsBytesRateAndEta) {
  BaseProgress p;
  p.tables_done = 3;
  p.tables_total = 7;
  p.rows = 120345;
  p.estimated_rows = 500000;
  p.bytes = 45 << 20;
  p.bytes_per_second = 12.5 * (1 << 20);
  p.eta = absl::Seconds(102);
  std::string line = FormatProgress(p);
  EXPECT_THAT(line, HasSubstr("3/7 tables"));
  EXPECT_THAT(line, HasSubstr("120345 rows of ~500000"));
  EXPECT_THAT(line, HasSubstr("45.0 MiB"));
  EXPECT_THAT(line, HasSubstr("12.5 MiB/s"));
  EXPECT_THAT(line, HasSubstr("ETA 1:42"));

  p.finished = true;
  p.elapsed = absl::Seconds(3725);
  line = FormatProgress(p);
  EXPECT_THAT(line, HasSubstr("done in 1:02:05"));
  EXPECT_THAT(line, Not(HasSubstr("ETA")));
}

TEST(BaseProgressTest, RendererOnAFileNeverWritesCarriageReturns) {
  // Not a terminal: the renderer logs (to stderr) and writes nothing to the file itself.
  char path[] = "/tmp/walship-progress-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ProgressCallback render = MakeDefaultProgressRenderer(fd, absl::Hours(1));
  BaseProgress p;
  p.tables_total = 1;
  render(p);
  p.finished = true;
  render(p);
  EXPECT_EQ(lseek(fd, 0, SEEK_END), 0);
  close(fd);
  unlink(path);
}

}  // namespace
}  // namespace walship::agent::snapshot
