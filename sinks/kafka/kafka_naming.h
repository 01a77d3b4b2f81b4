// How the Kafka sink names topics and encodes message keys and headers. Pure functions;
// the conventions are the consumers' contract (see the Kafka section of proto/walship.proto).
#ifndef WALSHIP_SINKS_KAFKA_KAFKA_NAMING_H_
#define WALSHIP_SINKS_KAFKA_KAFKA_NAMING_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"

namespace walship::sinks::kafka {

// Header names every message carries.
inline constexpr absl::string_view kPositionHeader = "walship.position";
inline constexpr absl::string_view kXidHeader = "walship.xid";
inline constexpr absl::string_view kOpHeader = "walship.op";

// Replaces every character outside [A-Za-z0-9._-] with '_' ("crm db" -> "crm_db").
std::string SanitizeTopicPart(absl::string_view part);

// "<prefix>.<schema>.<table>", each part sanitized.
std::string TableTopic(absl::string_view prefix, absl::string_view schema, absl::string_view table);
// "<prefix>.messages": logical messages (marks, DDL).
std::string MessagesTopic(absl::string_view prefix);
// "<prefix>.transactions": BEGIN and END markers.
std::string TransactionsTopic(absl::string_view prefix);

// The serialized v1::RowKey of `row` (the relation's key columns and their values), or
// nullopt when the relation has no key column or the row holds no values for them (a null
// Kafka key, as Debezium sends for keyless tables).
std::optional<std::string> EncodeRowKey(const v1::Relation& relation, const v1::Row& row);

// The row whose key identifies the event's row: the new row for INSERT and UPDATE, the old
// row for DELETE; nullptr for other operations.
const v1::Row* KeyRow(const v1::Event& event);

// walship.position: 16 upper-case hex digits of the commit LSN, ':', the decimal sequence
// ("00000000016B3748:12").
std::string PositionHeader(EventPosition position);

}  // namespace walship::sinks::kafka

#endif  // WALSHIP_SINKS_KAFKA_KAFKA_NAMING_H_
