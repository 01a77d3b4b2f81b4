// Which history the agent is about to write (ARCHITECTURE.md contract 6): compares the
// server (system identifier, timeline and its history file, the slot) with the incarnation
// records in the stores, and records a new incarnation when the slot was created again or
// the server is on a newer timeline (a failover).
#ifndef WALSHIP_AGENT_STREAM_IDENTITY_H_
#define WALSHIP_AGENT_STREAM_IDENTITY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "agent/pg/replication_connection.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::agent {

struct StreamIdentity {
  sinks::StreamId stream;  // with the branch of the current incarnation
  v1::StreamIncarnation incarnation;
  bool new_incarnation = false;
  // For a gap the sinks record when the slot starts past a store's end.
  std::string slot_reason;
  // Per store (same order): the newest position its heartbeats of this incarnation vouch
  // for (Invalid when none).
  std::vector<Lsn> vouched;
};

struct ServerState {
  pg::SystemIdentity identity;
  std::string slot;
  bool slot_created = false;  // by this start
  Lsn slot_confirmed;
  // For the switch time of a new timeline (pg_stat_file of its history file); may be empty.
  std::string conninfo;
};

// Errors: the server is on an older timeline than the store's newest incarnation, or on one
// that does not descend from it (kFailedPrecondition naming both); stores that disagree
// about an incarnation; unreadable records (kDataLoss naming them).
absl::StatusOr<StreamIdentity> ResolveStreamIdentity(
    const std::vector<sinks::ObjectStore*>& stores, const ServerState& server,
    pg::ReplicationConnection& conn);

// Parses a timeline history file; the switch point of `parent` (nullopt when absent).
struct TimelineSwitch {
  uint32_t parent = 0;
  Lsn switch_lsn;
};
absl::StatusOr<std::vector<TimelineSwitch>> ParseTimelineHistory(absl::string_view content);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_IDENTITY_H_
