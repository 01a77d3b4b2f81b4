// Progress of a base snapshot, and the default way to show it: one line redrawn in place
// on a terminal, a log line every few seconds otherwise.
#ifndef WALSHIP_AGENT_SNAPSHOT_BASE_PROGRESS_H_
#define WALSHIP_AGENT_SNAPSHOT_BASE_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace walship::agent::snapshot {

struct BaseProgress {
  int tables_done = 0;
  int tables_total = 0;
  uint64_t rows = 0;            // rows copied so far
  uint64_t estimated_rows = 0;  // sum of the tables' pg_class.reltuples (0: unknown)
  uint64_t bytes = 0;           // COPY text bytes copied so far
  absl::Duration elapsed;
  double rows_per_second = 0;
  double bytes_per_second = 0;
  std::optional<absl::Duration> eta;  // from the row rate and estimate; nullopt: unknown
  bool finished = false;              // the last call, after the manifest is written
};

// Called about once a second on the thread running TakeBaseSnapshot, and once more with
// finished = true.
using ProgressCallback = std::function<void(const BaseProgress&)>;

// "base snapshot: 3/7 tables, 120345 rows, 45.2 MiB, 12.1 MiB/s, ETA 0:42".
std::string FormatProgress(const BaseProgress& progress);

// The default renderer for `fd` (stderr usually): when it is a terminal, redraws one line
// with '\r' on every call (and ends it with '\n' when finished); otherwise writes a log line
// at most every `log_every` and on the final call. The returned callback is not
// thread-safe (TakeBaseSnapshot calls it from one thread).
ProgressCallback MakeDefaultProgressRenderer(int fd, absl::Duration log_every = absl::Seconds(10));

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_BASE_PROGRESS_H_
