// The machine's clock.
#include "proto/core/clock.h"

#include "absl/time/clock.h"

namespace walship {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  void SleepFor(absl::Duration duration) override {
    if (duration > absl::ZeroDuration()) absl::SleepFor(duration);
  }
};

}  // namespace

Clock& SystemClock() {
  static RealClock* clock = new RealClock();  // stateless, never destroyed
  return *clock;
}

}  // namespace walship
