// Restore progress: one line rewritten in place on a terminal, plain log lines otherwise.
#ifndef WALSHIP_REPLAY_APPLY_PROGRESS_REPORTER_H_
#define WALSHIP_REPLAY_APPLY_PROGRESS_REPORTER_H_

#include <cstdio>

#include "absl/time/time.h"
#include "proto/core/clock.h"
#include "replay/apply/applier.h"

namespace walship::replay {

// Writes to `out` (terminal mode) or the log. Not thread-safe.
class ProgressReporter {
 public:
  // `terminal`: rewrite one line on `out`; otherwise log every `log_interval` of `clock`.
  ProgressReporter(bool terminal, FILE* out, absl::Duration log_interval = absl::Seconds(10),
                   Clock& clock = SystemClock());

  // Cheap when nothing is due; call as often as convenient.
  void Update(const ApplierStats& stats);
  // Final line (terminal: ends the updating line).
  void Finish(const ApplierStats& stats);

 private:
  std::string Line(const ApplierStats& stats, absl::Time now) const;

  Clock& clock_;
  bool terminal_;
  FILE* out_;
  absl::Duration interval_;
  absl::Time start_;
  absl::Time next_;
  uint32_t calls_ = 0;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_PROGRESS_REPORTER_H_
