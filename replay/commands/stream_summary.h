// `list`: what one stored stream covers, from its index objects only.
#ifndef WALSHIP_REPLAY_COMMANDS_STREAM_SUMMARY_H_
#define WALSHIP_REPLAY_COMMANDS_STREAM_SUMMARY_H_

#include <cstdint>
#include <string>

#include "replay/catalog/segment_catalog.h"

namespace walship::replay {

struct StreamSummary {
  sinks::StreamId stream;
  size_t segment_count = 0;
  uint64_t total_bytes = 0;
  uint64_t transaction_count = 0;
  uint64_t event_count = 0;
  Lsn first_commit_lsn;
  Lsn last_end_lsn;
  int64_t first_commit_time_us = 0;
  int64_t last_commit_time_us = 0;
  std::vector<StreamGap> gaps;
  size_t overlap_count = 0;
  size_t redundant_count = 0;
};

StreamSummary Summarize(const SegmentCatalog& catalog);

// Human-readable, several lines ending in '\n':
//   stream 7340.../walship
//     LSN range:    0/16B3748 .. 0/1A2B3C4
//     commit times: 2024-05-01T14:00:00.000000Z .. 2024-05-01T15:00:00.000000Z
//     segments: 12 (3.4 MiB), transactions: 1200, events: 52000
//     gaps: none  |  gap: 0/1800000 .. 0/1900000 (after "...", before "...")
std::string FormatSummary(const StreamSummary& summary);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_STREAM_SUMMARY_H_
