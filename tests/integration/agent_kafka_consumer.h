// What a consumer of the agent's Kafka topics does, for the agent-to-Kafka tests: decode
// the values with protoc against proto/walship.proto, drop re-sent events by position, and
// rebuild each table from its events as PostgreSQL's `row::text`.
#ifndef WALSHIP_TESTS_INTEGRATION_AGENT_KAFKA_CONSUMER_H_
#define WALSHIP_TESTS_INTEGRATION_AGENT_KAFKA_CONSUMER_H_

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/walship.pb.h"
#include "tests/testing/kcat.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {

// ---- decoding with protoc ------------------------------------------------------------

inline std::string TextOf(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(message, &text);
  return text;
}

inline absl::StatusOr<std::string> RunProtoc(const std::vector<std::string>& args,
                                             const std::string& bytes) {
  std::vector<std::string> argv = {"protoc"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = Subprocess::Run(argv, absl::Seconds(300), {}, bytes);
  if (!result.ok()) return result.status();
  if (!result->ok()) return absl::InternalError(absl::StrCat("protoc: ", result->stderr_text));
  return result->stdout_text;
}

// `protoc --decode=walship.v1.Event -I proto walship.proto` of one message.
inline absl::StatusOr<std::string> ProtocDecodeOne(const std::string& type,
                                                   const std::string& bytes) {
  return RunProtoc({absl::StrCat("--decode=walship.v1.", type), "-I", WALSHIP_PROTO_DIR,
                    "walship.proto"},
                   bytes);
}

inline void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Decodes many values in one protoc run: the values become the elements of a repeated field
// of a list type whose only content is walship.proto's own messages, so each element is
// decoded by walship.proto alone. Returns the first difference from `expected`, or "".
inline absl::StatusOr<std::string> ProtocCheckBatch(const std::string& work,
                                                    const std::vector<std::string>& events,
                                                    const std::vector<std::string>& markers,
                                                    const std::string& expected_text) {
  std::string list_dir = work + "/protoc";
  std::filesystem::create_directories(list_dir);
  {
    std::ofstream list(list_dir + "/kafka_values.proto");
    list << "syntax = \"proto3\";\npackage walship.check;\nimport \"walship.proto\";\n"
            "message KafkaValues {\n  repeated walship.v1.Event event = 1;\n"
            "  repeated walship.v1.TransactionMarker marker = 2;\n}\n";
  }
  std::string bytes;
  for (const std::string& v : events) {
    bytes.push_back(0x0A);
    AppendVarint(v.size(), &bytes);
    bytes += v;
  }
  for (const std::string& v : markers) {
    bytes.push_back(0x12);
    AppendVarint(v.size(), &bytes);
    bytes += v;
  }
  auto decoded = RunProtoc({"--decode=walship.check.KafkaValues", "-I", WALSHIP_PROTO_DIR, "-I",
                            list_dir, "kafka_values.proto"},
                           bytes);
  if (!decoded.ok()) return decoded.status();
  if (*decoded == expected_text) return std::string();
  std::vector<std::string> got = absl::StrSplit(*decoded, '\n');
  std::vector<std::string> want = absl::StrSplit(expected_text, '\n');
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    std::string g = i < got.size() ? got[i] : "<end>";
    std::string w = i < want.size() ? want[i] : "<end>";
    if (g != w) return absl::StrFormat("line %d: protoc printed %s, expected %s", i + 1, g, w);
  }
  return std::string("outputs differ");
}

inline std::string Nested(absl::string_view field, const google::protobuf::Message& message) {
  std::string out = absl::StrCat(field, " {\n");
  for (absl::string_view line : absl::StrSplit(TextOf(message), '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

// ---- what a consumer does ------------------------------------------------------------

using Position = std::pair<uint64_t, uint32_t>;  // (commit LSN, sequence)

inline std::string PositionText(const Position& p) { return absl::StrFormat("%016X:%u", p.first, p.second); }

struct TopicEvents {
  // Messages with a value, parsed, in (partition, offset) order, duplicates included.
  std::vector<std::pair<const ConsumedMessage*, v1::Event>> events;
  std::vector<ConsumedMessage> raw;
};

// The consumer-side duplicate filter: per partition, in offset order, an event whose
// position is not greater than the last one kept is dropped. Returns the kept events and
// counts the dropped ones.
inline std::vector<v1::Event> DropDuplicates(const TopicEvents& topic, int* dropped) {
  std::vector<v1::Event> kept;
  std::map<int, Position> last;
  for (const auto& [m, event] : topic.events) {
    Position p{event.commit_lsn(), event.sequence()};
    auto it = last.find(m->partition);
    if (it != last.end() && p <= it->second) {
      ++*dropped;
      continue;
    }
    last[m->partition] = p;
    kept.push_back(event);
  }
  return kept;
}

// One table rebuilt from its events: rows as column name -> text (nullopt for NULL).
using Cells = std::map<std::string, std::optional<std::string>>;

struct RebuiltTable {
  std::vector<Cells> rows;
  v1::Relation latest;  // the relation of the newest event: the column order to render
  Position latest_position{0, 0};
};

inline bool IsIdentityColumn(const v1::Relation& relation, int i) {
  return relation.columns(i).key() || relation.replica_identity() == v1::REPLICA_IDENTITY_FULL;
}

inline std::optional<std::string> CellOf(const v1::Value& value) {
  if (value.has_null()) return std::nullopt;
  return value.text();
}

inline bool Matches(const Cells& row, const v1::Relation& relation, const v1::Row& image) {
  for (int i = 0; i < relation.columns_size() && i < image.values_size(); ++i) {
    if (!IsIdentityColumn(relation, i) || image.values(i).has_unchanged_toast()) continue;
    auto it = row.find(relation.columns(i).name());
    std::optional<std::string> have = it == row.end() ? std::nullopt : it->second;
    if (have != CellOf(image.values(i))) return false;
  }
  return true;
}

inline absl::Status Apply(const v1::Event& event, RebuiltTable* table) {
  const v1::Relation& relation = event.relation();
  Position p{event.commit_lsn(), event.sequence()};
  if (p > table->latest_position) {
    table->latest = relation;
    table->latest_position = p;
  }
  auto find = [&](const v1::Row& image) -> absl::StatusOr<size_t> {
    for (size_t i = 0; i < table->rows.size(); ++i) {
      if (Matches(table->rows[i], relation, image)) return i;
    }
    return absl::NotFoundError(absl::StrCat("no row matches the old image of ", PositionText(p)));
  };
  switch (event.op()) {
    case v1::INSERT: {
      Cells cells;
      for (int i = 0; i < relation.columns_size(); ++i) {
        if (event.new_row().values(i).has_unchanged_toast()) {
          return absl::DataLossError(absl::StrCat("unchanged TOAST in an INSERT at ", PositionText(p)));
        }
        cells[relation.columns(i).name()] = CellOf(event.new_row().values(i));
      }
      table->rows.push_back(std::move(cells));
      return absl::OkStatus();
    }
    case v1::UPDATE: {
      auto at = find(event.has_old_row() ? event.old_row() : event.new_row());
      if (!at.ok()) return at.status();
      Cells& row = table->rows[*at];
      Cells cells;
      for (int i = 0; i < relation.columns_size(); ++i) {
        const std::string& name = relation.columns(i).name();
        if (event.new_row().values(i).has_unchanged_toast()) {
          if (!row.contains(name)) {
            return absl::DataLossError(absl::StrCat("unchanged TOAST without a value at ", PositionText(p)));
          }
          cells[name] = row[name];
        } else {
          cells[name] = CellOf(event.new_row().values(i));
        }
      }
      row = std::move(cells);
      return absl::OkStatus();
    }
    case v1::DELETE: {
      auto at = find(event.old_row());
      if (!at.ok()) return at.status();
      table->rows.erase(table->rows.begin() + static_cast<std::ptrdiff_t>(*at));
      return absl::OkStatus();
    }
    case v1::TRUNCATE:
      table->rows.clear();
      return absl::OkStatus();
    default:
      return absl::DataLossError(absl::StrCat("unexpected operation at ", PositionText(p)));
  }
}

// PostgreSQL's record_out quoting of one field, then COPY's text escaping of the whole
// line: exactly what CaptureTables reads back for `t::text`.
inline std::string RowText(const Cells& row, const v1::Relation& relation) {
  std::string record = "(";
  for (int i = 0; i < relation.columns_size(); ++i) {
    if (i > 0) record += ',';
    auto it = row.find(relation.columns(i).name());
    if (it == row.end() || !it->second.has_value()) continue;
    const std::string& v = *it->second;
    bool quote = v.empty();
    for (char c : v) {
      if (c == '"' || c == '\\' || c == '(' || c == ')' || c == ',' || c == ' ' || c == '\t' ||
          c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        quote = true;
      }
    }
    if (!quote) {
      record += v;
      continue;
    }
    record += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') record += c;
      record += c;
    }
    record += '"';
  }
  record += ')';
  std::string line;
  for (char c : record) {
    switch (c) {
      case '\\': line += "\\\\"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      case '\t': line += "\\t"; break;
      case '\b': line += "\\b"; break;
      case '\f': line += "\\f"; break;
      case '\v': line += "\\v"; break;
      default: line += c;
    }
  }
  return line;
}

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_INTEGRATION_AGENT_KAFKA_CONSUMER_H_
