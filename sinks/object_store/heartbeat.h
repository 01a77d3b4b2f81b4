// Heartbeat objects: while the database is idle the agent writes a small object at most
// once a minute, so that an operator (and `walship-replay status`) can tell "idle and
// healthy" from "stalled" from the store alone. It also writes one (at most every 10 s)
// before it confirms to PostgreSQL a position past its last stored segment (WAL that holds
// no published change): the store then vouches for that position, so a restart never finds
// the slot past what the store knows about (a gap).
//
//   <system-id>/<slot>/heartbeat/<unix-seconds, 10 digits>.hb
//   content (JSON, UTF-8, one line):
//     {"time_us":1714572300000000,"acknowledged_lsn":"0/16B3748","server_wal_lsn":"0/16B3800",
//      "system_id":"7340...","timeline":1,"incarnation":2}
// time_us is the agent's clock when written; acknowledged_lsn is the position confirmed to
// PostgreSQL (durable in every sink); server_wal_lsn the server's WAL end last reported.
// Keys list in time order. Readers ignore unknown fields.
#ifndef WALSHIP_SINKS_OBJECT_STORE_HEARTBEAT_H_
#define WALSHIP_SINKS_OBJECT_STORE_HEARTBEAT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "sinks/object_store/layout.h"

namespace walship::sinks {

struct Heartbeat {
  Heartbeat() = default;
  Heartbeat(absl::Time time, Lsn acknowledged, Lsn server_wal)
      : time(time), acknowledged(acknowledged), server_wal(server_wal) {}

  absl::Time time;
  // Confirmed to PostgreSQL, or about to be: the store holds every transaction ending at
  // or before it (nothing ended between its last segment and here).
  Lsn acknowledged;
  Lsn server_wal;
  // The stream identity (absent in heartbeats written before identities: empty, 0).
  std::string system_id;
  uint32_t timeline = 0;
  uint32_t incarnation = 0;
};

// "<system-id>/<slot>/heartbeat/"
std::string HeartbeatPrefix(const StreamId& stream);
// "<system-id>/<slot>/heartbeat/1714572300.hb" (whole seconds of `time`).
std::string HeartbeatKey(const StreamId& stream, absl::Time time);
// The time in a heartbeat key (whole or file part); nullopt for any other key.
std::optional<absl::Time> ParseHeartbeatKey(absl::string_view key);

std::string EncodeHeartbeat(const Heartbeat& heartbeat);
// kDataLoss naming what is wrong for content that is not a heartbeat.
absl::StatusOr<Heartbeat> DecodeHeartbeat(absl::string_view content);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_HEARTBEAT_H_
