// Setting free-standing sequences from the agent's recordings.
#include "replay/apply/sequence_recordings.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "replay/catalog/segment_records.h"

namespace walship::replay {

absl::StatusOr<SequenceRecordingAt> ParseSequenceRecording(const std::string& content,
                                                           Lsn commit_lsn) {
  SequenceRecordingAt out;
  out.commit_lsn = commit_lsn;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // later formats may add fields
  auto parsed = google::protobuf::util::JsonStringToMessage(content, &out.recording, options);
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrFormat(
        "the sequence recording committed at %s is malformed (%s); restore with "
        "--sequence-margin 0 to leave free-standing sequences at their base values",
        commit_lsn.ToString(), why));
  };
  if (!parsed.ok()) return bad(std::string(parsed.message()));
  if (out.recording.format() != 1) {
    return bad(absl::StrCat("format ", out.recording.format(), ", this walship-replay reads 1"));
  }
  absl::StatusOr<Lsn> read = Lsn::Parse(out.recording.read_lsn());
  if (!read.ok()) return bad(absl::StrCat("read_lsn \"", out.recording.read_lsn(), "\""));
  out.read_lsn = *read;
  for (const v1::RecordedSequence& sequence : out.recording.sequences()) {
    if (sequence.schema().empty() || sequence.name().empty() || sequence.increment() == 0) {
      return bad("a sequence without schema, name or increment");
    }
  }
  return out;
}

namespace {

// Every recording in one segment, in order.
absl::StatusOr<std::vector<SequenceRecordingAt>> RecordingsIn(sinks::ObjectStore* store,
                                                             const CatalogSegment& segment) {
  std::vector<SequenceRecordingAt> out;
  absl::Status parse_error = absl::OkStatus();
  WALSHIP_RETURN_IF_ERROR(
      ForEachSegmentRecord(store, segment, [&](const v1::Record& record) -> absl::StatusOr<bool> {
        if (!record.has_event()) return true;
        const v1::Event& event = record.event();
        if (event.op() != v1::MESSAGE || event.message().prefix() != kSequencesPrefix) return true;
        auto parsed = ParseSequenceRecording(event.message().content(), Lsn(event.commit_lsn()));
        if (!parsed.ok()) return parsed.status();
        out.push_back(std::move(*parsed));
        return true;
      }).status());
  return out;
}

}  // namespace

absl::StatusOr<std::optional<SequenceRecordingAt>> FindSequenceRecording(
    sinks::ObjectStore* store, const std::vector<CatalogSegment>& segments, Lsn restored) {
  for (const CatalogSegment& segment : segments) {
    const v1::SegmentTrailer& trailer = segment.trailer;
    // A recording's read position is below its commit: one committed at or before the
    // restored point was read before it.
    if (trailer.sequence_recordings() == 0 ||
        trailer.last_sequence_recording_lsn() <= restored.value()) {
      continue;
    }
    WALSHIP_ASSIGN_OR_RETURN(std::vector<SequenceRecordingAt> found, RecordingsIn(store, segment));
    for (SequenceRecordingAt& recording : found) {
      if (recording.read_lsn > restored) {
        recording.after = true;
        return std::optional<SequenceRecordingAt>(std::move(recording));
      }
    }
  }
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    if (it->trailer.sequence_recordings() == 0) continue;
    WALSHIP_ASSIGN_OR_RETURN(std::vector<SequenceRecordingAt> found, RecordingsIn(store, *it));
    if (found.empty()) {
      return absl::DataLossError(absl::StrFormat(
          "segment \"%s\" lists %d sequence recordings in its trailer but holds none",
          it->segment_key, it->trailer.sequence_recordings()));
    }
    return std::optional<SequenceRecordingAt>(std::move(found.back()));
  }
  return std::optional<SequenceRecordingAt>();
}

int64_t SequenceTarget(int64_t last_value, int64_t increment, bool after, int64_t margin,
                       int64_t min_value, int64_t max_value) {
  __int128 value = last_value;
  if (!after) value += static_cast<__int128>(margin) * increment;
  if (value > max_value) value = max_value;
  if (value < min_value) value = min_value;
  return static_cast<int64_t>(value);
}

absl::Status ApplySequenceRecording(agent::pg::Session* conn, const SequenceRecordingAt& found,
                                    int64_t margin, size_t* count) {
  size_t set = 0;
  for (const v1::RecordedSequence& sequence : found.recording.sequences()) {
    std::string name = agent::pg::QuoteQualified(sequence.schema(), sequence.name());
    std::string what = absl::StrFormat("setting sequence \"%s.%s\"", sequence.schema(),
                                       sequence.name());
    WALSHIP_ASSIGN_OR_RETURN(
        agent::pg::QueryResult bounds,
        conn->Query("SELECT s.seqmin::text, s.seqmax::text FROM pg_catalog.pg_sequence s "
                    "WHERE s.seqrelid = pg_catalog.to_regclass($1)",
                    {name}, what));
    if (bounds.rows.empty()) {
      LogInfo("sequence \"%s.%s\" of the recording is not in the target (dropped or renamed): "
              "left out",
              sequence.schema(), sequence.name());
      continue;
    }
    int64_t min_value = std::numeric_limits<int64_t>::min();
    int64_t max_value = std::numeric_limits<int64_t>::max();
    if (!absl::SimpleAtoi(bounds.rows[0][0].value_or(""), &min_value) ||
        !absl::SimpleAtoi(bounds.rows[0][1].value_or(""), &max_value)) {
      return absl::InternalError(absl::StrCat(what, ": unreadable bounds"));
    }
    int64_t value = SequenceTarget(sequence.last_value(), sequence.increment(), found.after,
                                   margin, min_value, max_value);
    WALSHIP_RETURN_IF_ERROR(conn->Query("SELECT pg_catalog.setval($1::pg_catalog.regclass, "
                                        "$2::bigint, true)",
                                        {name, absl::StrCat(value)}, what)
                                .status());
    ++set;
  }
  if (found.after) {
    LogInfo("%d free-standing sequences set from the first recording after the restored point "
            "(read at %s)",
            set, found.read_lsn.ToString());
  } else {
    LogInfo("the restore ends after the last sequence recording (read at %s): %d free-standing "
            "sequences set to their recorded value plus %d increments (--sequence-margin)",
            found.read_lsn.ToString(), set, margin);
  }
  *count += set;
  return absl::OkStatus();
}

}  // namespace walship::replay
