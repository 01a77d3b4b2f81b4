// Heartbeat object keys and their small JSON content.
#include "sinks/object_store/heartbeat.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace walship::sinks {
namespace {

constexpr absl::string_view kDir = "heartbeat/";
constexpr absl::string_view kSuffix = ".hb";

// The raw value of `"field":` in a flat JSON object: a quoted string's contents or a bare
// number. Enough for the fixed, flat format above; nullopt when absent or malformed.
std::optional<std::string> FieldValue(absl::string_view json, absl::string_view field) {
  std::string quoted = absl::StrCat("\"", field, "\"");
  size_t at = json.find(quoted);
  if (at == absl::string_view::npos) return std::nullopt;
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(json.substr(at + quoted.size()));
  if (!absl::ConsumePrefix(&rest, ":")) return std::nullopt;
  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (absl::ConsumePrefix(&rest, "\"")) {
    size_t end = rest.find('"');
    if (end == absl::string_view::npos) return std::nullopt;
    return std::string(rest.substr(0, end));
  }
  size_t end = rest.find_first_of(",} \t\r\n");
  if (end == 0 || end == absl::string_view::npos) return std::nullopt;
  return std::string(rest.substr(0, end));
}

}  // namespace

std::string HeartbeatPrefix(const StreamId& stream) { return absl::StrCat(stream.Prefix(), kDir); }

std::string HeartbeatKey(const StreamId& stream, absl::Time time) {
  return absl::StrFormat("%s%010d%s", HeartbeatPrefix(stream), absl::ToUnixSeconds(time), kSuffix);
}

std::optional<absl::Time> ParseHeartbeatKey(absl::string_view key) {
  size_t slash = key.rfind('/');
  absl::string_view file = slash == absl::string_view::npos ? key : key.substr(slash + 1);
  if (slash != absl::string_view::npos) {
    absl::string_view dir = key.substr(0, slash + 1);
    if (!absl::EndsWith(dir, absl::StrCat("/", kDir)) && dir != kDir) return std::nullopt;
  }
  if (!absl::ConsumeSuffix(&file, kSuffix) || file.empty() ||
      file.find_first_not_of("0123456789") != absl::string_view::npos) {
    return std::nullopt;
  }
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(file, &seconds)) return std::nullopt;
  return absl::FromUnixSeconds(seconds);
}

std::string EncodeHeartbeat(const Heartbeat& h) {
  std::string identity;
  if (!h.system_id.empty()) {
    identity = absl::StrFormat(R"(,"system_id":"%s","timeline":%d,"incarnation":%d)",
                               h.system_id, h.timeline, h.incarnation);
  }
  return absl::StrFormat(R"({"time_us":%d,"acknowledged_lsn":"%s","server_wal_lsn":"%s"%s})",
                         absl::ToUnixMicros(h.time), h.acknowledged.ToString(),
                         h.server_wal.ToString(), identity);
}

absl::StatusOr<Heartbeat> DecodeHeartbeat(absl::string_view content) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrFormat("malformed heartbeat: %s in \"%s\"", what,
                                               absl::CHexEscape(content.substr(0, 200))));
  };
  Heartbeat h;
  std::optional<std::string> time_us = FieldValue(content, "time_us");
  int64_t micros = 0;
  if (!time_us || !absl::SimpleAtoi(*time_us, &micros)) return bad("no numeric \"time_us\"");
  h.time = absl::FromUnixMicros(micros);
  for (auto [field, out] : {std::pair<const char*, Lsn*>{"acknowledged_lsn", &h.acknowledged},
                            std::pair<const char*, Lsn*>{"server_wal_lsn", &h.server_wal}}) {
    std::optional<std::string> text = FieldValue(content, field);
    if (!text) return bad(absl::StrCat("no \"", field, "\""));
    absl::StatusOr<Lsn> lsn = Lsn::Parse(*text);
    if (!lsn.ok()) return bad(absl::StrCat("\"", field, "\" is not an LSN"));
    *out = *lsn;
  }
  if (std::optional<std::string> system_id = FieldValue(content, "system_id")) {
    h.system_id = *system_id;
    std::optional<std::string> timeline = FieldValue(content, "timeline");
    std::optional<std::string> incarnation = FieldValue(content, "incarnation");
    if (!timeline || !absl::SimpleAtoi(*timeline, &h.timeline) || !incarnation ||
        !absl::SimpleAtoi(*incarnation, &h.incarnation)) {
      return bad("\"system_id\" without a numeric \"timeline\" and \"incarnation\"");
    }
  }
  return h;
}

}  // namespace walship::sinks
