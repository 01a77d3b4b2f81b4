// Names of event operations as they appear in Kafka headers (walship.op) and messages.
#ifndef WALSHIP_PROTO_EVENT_NAMES_H_
#define WALSHIP_PROTO_EVENT_NAMES_H_

#include "absl/strings/string_view.h"
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

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_EVENT_NAMES_H_
