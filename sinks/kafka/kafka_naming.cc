// Topic names, row keys and header values of the Kafka sink.
#include "sinks/kafka/kafka_naming.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include "proto/event_names.h"

namespace walship::sinks::kafka {

std::string SanitizeTopicPart(absl::string_view part) {
  std::string out(part);
  for (char& c : out) {
    bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
    if (!allowed) c = '_';
  }
  return out;
}

std::string TableTopic(absl::string_view prefix, absl::string_view schema,
                       absl::string_view table) {
  return absl::StrCat(SanitizeTopicPart(prefix), ".", SanitizeTopicPart(schema), ".",
                      SanitizeTopicPart(table));
}

std::string MessagesTopic(absl::string_view prefix) {
  return absl::StrCat(SanitizeTopicPart(prefix), ".messages");
}

std::string TransactionsTopic(absl::string_view prefix) {
  return absl::StrCat(SanitizeTopicPart(prefix), ".transactions");
}

std::optional<std::string> EncodeRowKey(const v1::Relation& relation, const v1::Row& row) {
  v1::RowKey key;
  for (int i = 0; i < relation.columns_size(); ++i) {
    if (!relation.columns(i).key()) continue;
    // A row image shorter than the relation (should not happen) yields no key rather than
    // a partial one.
    if (i >= row.values_size()) return std::nullopt;
    *key.add_columns() = relation.columns(i);
    *key.add_values() = row.values(i);
  }
  if (key.columns_size() == 0) return std::nullopt;
  // Deterministic so that equal keys are equal bytes and land on the same partition.
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    key.SerializeToCodedStream(&coded);
  }
  return out;
}

const v1::Row* KeyRow(const v1::Event& event) {
  switch (event.op()) {
    case v1::INSERT:
    case v1::UPDATE:
      return &event.new_row();
    case v1::DELETE:
      return &event.old_row();
    default:
      return nullptr;
  }
}

std::string PositionHeader(EventPosition position) {
  return absl::StrFormat("%016X:%u", position.commit_lsn.value(), position.sequence);
}


}  // namespace walship::sinks::kafka
