// Progress lines are paced by the clock, not by the number of events.
#include "replay/apply/progress_reporter.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace walship::replay {
namespace {

using ::testing::HasSubstr;

// What the reporter wrote to its terminal so far.
std::string Written(FILE* out) {
  std::fflush(out);
  long size = std::ftell(out);
  std::string text(static_cast<size_t>(size), '\0');
  std::rewind(out);
  size_t read = std::fread(text.data(), 1, text.size(), out);
  text.resize(read);
  std::fseek(out, 0, SEEK_END);
  return text;
}

TEST(ProgressReporterTest, ATerminalLineIsRewrittenOnlyOnceItsIntervalHasPassed) {
  FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  testing::FakeClock clock;
  ProgressReporter progress(/*terminal=*/true, out, absl::Seconds(10), clock);
  ApplierStats stats;
  stats.transactions = 3;
  stats.events = 1000;
  for (int i = 0; i < 1024; ++i) progress.Update(stats);
  EXPECT_EQ(Written(out), "") << "no line before 250 ms have passed, however many events";
  clock.Advance(absl::Milliseconds(300));
  for (int i = 0; i < 256; ++i) progress.Update(stats);
  std::string first = Written(out);
  EXPECT_THAT(first, HasSubstr("applied 3 transactions, 1000 events"));
  // 1000 events in 0.3 s of the clock.
  EXPECT_THAT(first, HasSubstr("3333 events/s"));
  for (int i = 0; i < 1024; ++i) progress.Update(stats);
  EXPECT_EQ(Written(out), first) << "the next line waits for the next interval";
  std::fclose(out);
}

}  // namespace
}  // namespace walship::replay
