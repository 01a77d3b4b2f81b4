// Clock: the seam between code whose behaviour depends on time (timers, deadlines, backoff,
// staleness) and the machine's clock, so that a test can drive time itself
// (tests/testing/fake_clock.h). Production code takes a `Clock&` through its constructor or
// options and uses SystemClock() as the default.
//
//   absl::Time deadline = clock.Now() + absl::Seconds(10);
//   while (clock.Now() < deadline) clock.SleepFor(absl::Milliseconds(50));
#ifndef WALSHIP_PROTO_CORE_CLOCK_H_
#define WALSHIP_PROTO_CORE_CLOCK_H_

#include "absl/time/time.h"

namespace walship {

// Implementations are thread-safe: any thread may call any method.
class Clock {
 public:
  virtual ~Clock() = default;

  // The current time.
  virtual absl::Time Now() const = 0;
  // Blocks the calling thread for `duration` of this clock's time (a fake clock advances
  // instead of blocking). Non-positive durations return at once.
  virtual void SleepFor(absl::Duration duration) = 0;
};

// The machine's clock (absl::Now, absl::SleepFor). Stateless; lives until exit.
Clock& SystemClock();

}  // namespace walship

#endif  // WALSHIP_PROTO_CORE_CLOCK_H_
