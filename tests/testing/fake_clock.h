// FakeClock: a Clock (proto/core/clock.h) whose time moves only when told: Set(), Advance(),
// or a SleepFor() (which advances instead of blocking, so code that waits runs at once).
//
//   FakeClock clock(absl::FromUnixSeconds(1700000000));
//   StreamLoop loop(..., clock);
//   clock.Advance(absl::Seconds(10));
#ifndef WALSHIP_TESTS_TESTING_FAKE_CLOCK_H_
#define WALSHIP_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/core/clock.h"

namespace walship::testing {

// Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void SleepFor(absl::Duration duration) override {
    if (duration > absl::ZeroDuration()) Advance(duration);
  }

  void Set(absl::Time now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }
  void Advance(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    now_ += duration;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_FAKE_CLOCK_H_
