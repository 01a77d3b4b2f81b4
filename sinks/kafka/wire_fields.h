// Editing a serialized protobuf message at the wire level: swapping one length-delimited
// field's bytes for another encoding of it, without parsing the message (the Kafka sink puts
// a table's description, serialized once, into every row event's bytes).
#ifndef WALSHIP_SINKS_KAFKA_WIRE_FIELDS_H_
#define WALSHIP_SINKS_KAFKA_WIRE_FIELDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace walship::sinks::kafka {

// Replaces the one top-level occurrence of length-delimited field `number` in the
// serialized message `bytes` with `field` (that field's own tag, length and payload). False,
// changing nothing, when the field is absent, repeated, not length-delimited, or the bytes
// do not parse. Pure function.
bool ReplaceField(int number, absl::string_view field, std::string* bytes);

}  // namespace walship::sinks::kafka

#endif  // WALSHIP_SINKS_KAFKA_WIRE_FIELDS_H_
