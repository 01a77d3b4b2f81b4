// Names of event operations as they appear in Kafka headers (walship.op) and messages, and
// an event's position.
#ifndef WALSHIP_PROTO_EVENT_NAMES_H_
#define WALSHIP_PROTO_EVENT_NAMES_H_

#include "absl/strings/string_view.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"

namespace walship::proto {

// "INSERT", "UPDATE", "DELETE", "TRUNCATE", "MESSAGE"; "UNSPECIFIED" for anything else.
inline absl::string_view OperationName(v1::Operation op) {
  switch (op) {
    case v1::INSERT: return "INSERT";
    case v1::UPDATE: return "UPDATE";
    case v1::DELETE: return "DELETE";
    case v1::TRUNCATE: return "TRUNCATE";
    case v1::MESSAGE: return "MESSAGE";
    default: return "UNSPECIFIED";
  }
}

// The event's place in the stream (commit LSN, sequence).
inline EventPosition PositionOf(const v1::Event& event) {
  return EventPosition{Lsn(event.commit_lsn()), event.sequence()};
}

// The source OID a relation description carries.
inline RelationOid OidOf(const v1::Relation& relation) { return RelationOid(relation.oid()); }

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_EVENT_NAMES_H_
