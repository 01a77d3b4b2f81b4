// Stream summary for `list`.
#include "replay/commands/stream_summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "replay/plan/recovery_target.h"

namespace walship::replay {

StreamSummary Summarize(const SegmentCatalog& catalog) {
  StreamSummary summary;
  summary.stream = catalog.stream();
  summary.gaps = catalog.gaps();
  summary.overlap_count = catalog.overlap_count();
  summary.redundant_count = catalog.redundant_count();
  const std::vector<CatalogSegment>& segments = catalog.segments();
  summary.segment_count = segments.size();
  for (const CatalogSegment& segment : segments) {
    summary.total_bytes += segment.segment_bytes;
    summary.transaction_count += segment.trailer.transaction_count();
    summary.event_count += segment.trailer.event_count();
  }
  if (!segments.empty()) {
    summary.first_commit_lsn = Lsn(segments.front().trailer.first_commit_lsn());
    summary.last_end_lsn = Lsn(segments.back().trailer.last_end_lsn());
    summary.first_commit_time_us = segments.front().trailer.first_commit_time_us();
    summary.last_commit_time_us = segments.back().trailer.last_commit_time_us();
  }
  return summary;
}

std::string FormatSummary(const StreamSummary& s) {
  std::string out = absl::StrFormat("stream %s/%s\n", s.stream.system_id, s.stream.slot);
  if (s.segment_count == 0) return absl::StrCat(out, "  no change segments\n");
  absl::StrAppendFormat(&out, "  LSN range:    %s .. %s\n", s.first_commit_lsn.ToString(),
                        s.last_end_lsn.ToString());
  absl::StrAppendFormat(&out, "  commit times: %s .. %s\n", FormatUtcMicros(s.first_commit_time_us),
                        FormatUtcMicros(s.last_commit_time_us));
  absl::StrAppendFormat(&out, "  segments: %d (%d bytes), transactions: %d, events: %d\n",
                        s.segment_count, s.total_bytes, s.transaction_count, s.event_count);
  if (s.redundant_count || s.overlap_count) {
    absl::StrAppendFormat(&out, "  overlapping segments: %d, duplicate segments: %d\n",
                          s.overlap_count, s.redundant_count);
  }
  if (s.gaps.empty()) {
    absl::StrAppend(&out, "  gaps: none\n");
  }
  for (const StreamGap& gap : s.gaps) {
    absl::StrAppendFormat(&out, "  gap: %s .. %s (after %s, before \"%s\")\n", gap.from.ToString(),
                          gap.to.ToString(),
                          gap.previous_key.empty() ? std::string("the start of the stream")
                                                   : absl::StrCat("\"", gap.previous_key, "\""),
                          gap.next_key);
  }
  return out;
}

}  // namespace walship::replay
