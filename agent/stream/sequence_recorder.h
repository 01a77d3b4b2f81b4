// Records the source's free-standing sequences (those no column owns) in the stream.
//
// PostgreSQL 15 does not decode sequences, and `nextval` is not transactional: a restore that
// leaves a free-standing sequence at its base value hands out numbers already used. The
// recorder reads every such sequence's last value and, when any changed since its last
// recording, writes them as a transactional logical message ("walship.sequences", format in
// proto/walship.proto) that the stream carries to every sink. Replay sets each sequence from
// the first recording read after its target.
#ifndef WALSHIP_AGENT_STREAM_SEQUENCE_RECORDER_H_
#define WALSHIP_AGENT_STREAM_SEQUENCE_RECORDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "agent/pg/session.h"

namespace walship::agent {

inline constexpr char kSequencesMessagePrefix[] = "walship.sequences";

class SequenceRecorder {
 public:
  // Reads the values over `conn` (a normal connection to the source database) and writes a
  // recording when they differ from the last one written. Returns whether it wrote one.
  absl::StatusOr<bool> Record(pg::Session& conn);

  // The JSON array of the last recording ("" before the first).
  const std::string& last_values() const { return last_values_; }

 private:
  std::string last_values_;
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_SEQUENCE_RECORDER_H_
