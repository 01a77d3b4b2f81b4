// Free-standing sequences from the agent's recordings ("walship.sequences" messages, see
// proto/walship.proto): the first recording read after the restored point, or, when the
// restore reaches past the last one, the last one plus a margin.
#ifndef WALSHIP_REPLAY_APPLY_SEQUENCE_RECORDINGS_H_
#define WALSHIP_REPLAY_APPLY_SEQUENCE_RECORDINGS_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"
#include "replay/catalog/segment_catalog.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

inline constexpr char kSequencesPrefix[] = "walship.sequences";

struct SequenceRecordingAt {
  v1::SequenceRecording recording;
  Lsn read_lsn;
  Lsn commit_lsn;  // of the message
  // True: read after the restored point (its values are set as they are). False: the last
  // recording of the stream, read before the restored point (a margin is added).
  bool after = false;
};

// Parses a message's content; kDataLoss naming `commit_lsn` when it is malformed.
absl::StatusOr<SequenceRecordingAt> ParseSequenceRecording(const std::string& content,
                                                           Lsn commit_lsn);

// Finds the first recording whose read_lsn is past `restored` (the restore's last
// transaction), reading only the segments whose trailers list recordings; failing that, the
// stream's last recording. nullopt when the stream has none (written before recordings
// existed, or by an agent with --sequence-interval 0).
absl::StatusOr<std::optional<SequenceRecordingAt>> FindSequenceRecording(
    sinks::ObjectStore* store, const std::vector<CatalogSegment>& segments, Lsn restored);

// The value a sequence is set to: the recorded one, plus `margin` increments when the
// recording precedes the restored point, kept within [min_value, max_value].
int64_t SequenceTarget(int64_t last_value, int64_t increment, bool after, int64_t margin,
                       int64_t min_value, int64_t max_value);

// Sets each recorded sequence that exists in the target (a kNormal connection) with setval;
// adds their number to `*count`. Sequences the target lacks are logged and left out.
absl::Status ApplySequenceRecording(agent::pg::Session* conn, const SequenceRecordingAt& found,
                                    int64_t margin, size_t* count);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_SEQUENCE_RECORDINGS_H_
