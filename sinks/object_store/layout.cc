// Object key construction and parsing.
#include "sinks/object_store/layout.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace walship::sinks {
namespace {

absl::string_view BaseName(absl::string_view key) {
  size_t slash = key.rfind('/');
  return slash == absl::string_view::npos ? key : key.substr(slash + 1);
}

std::optional<Lsn> ParseKeyLsn(absl::string_view text) {
  if (text.size() != 16) return std::nullopt;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return std::nullopt;
  }
  auto lsn = Lsn::Parse(text);
  if (!lsn.ok()) return std::nullopt;
  return *lsn;
}

}  // namespace

std::string StreamId::Prefix() const {
  if (branch.empty()) return RootPrefix();
  return absl::StrCat(system_id, "/", slot, "/", branch, "/");
}
std::string StreamId::RootPrefix() const { return absl::StrCat(system_id, "/", slot, "/"); }

std::string BranchName(uint32_t timeline) { return absl::StrFormat("timeline-%08X", timeline); }

std::string IncarnationPrefix(const StreamId& stream) {
  return absl::StrCat(stream.RootPrefix(), "incarnation/");
}
std::string IncarnationKey(const StreamId& stream, uint32_t number) {
  return absl::StrFormat("%s%08d.json", IncarnationPrefix(stream), number);
}
std::optional<uint32_t> ParseIncarnationKey(absl::string_view key) {
  size_t slash = key.rfind('/');
  absl::string_view name = slash == absl::string_view::npos ? key : key.substr(slash + 1);
  if (name.size() != 13 || !absl::EndsWith(name, ".json")) return std::nullopt;
  uint32_t number = 0;
  for (char c : name.substr(0, 8)) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<uint32_t>(c - '0');
  }
  if (number == 0) return std::nullopt;
  return number;
}
std::string GapPrefix(const StreamId& stream) { return absl::StrCat(stream.Prefix(), "gap/"); }
std::string GapKey(const StreamId& stream, Lsn from, Lsn to) {
  return absl::StrCat(GapPrefix(stream), from.ToKey(), "-", to.ToKey(), ".json");
}

std::string WalSegmentKey(const StreamId& stream, Lsn first_commit, Lsn last_end) {
  return absl::StrCat(stream.Prefix(), "wal/", first_commit.ToKey(), "-", last_end.ToKey(),
                      ".seg");
}

std::string SegmentPartKey(const StreamId& stream, Lsn first_commit, uint64_t token, int number) {
  return absl::StrFormat("%spart/%s-%016x-%06d.seg", stream.Prefix(), first_commit.ToKey(), token,
                         number);
}

bool IsPartKeyOfSegment(absl::string_view part_key, absl::string_view segment_key) {
  size_t wal = segment_key.rfind("wal/");
  if (wal == absl::string_view::npos) return false;
  absl::string_view prefix = segment_key.substr(0, wal);
  if (!absl::StartsWith(part_key, absl::StrCat(prefix, "part/"))) return false;
  absl::string_view name = part_key.substr(prefix.size() + 5);
  return ValidateObjectKey(part_key).ok() && name.find('/') == absl::string_view::npos &&
         absl::EndsWith(name, ".seg");
}

std::string SegmentIndexKey(const StreamId& stream, Lsn last_end) {
  return absl::StrCat(stream.Prefix(), "index/", last_end.ToKey(), ".idx");
}

std::optional<ParsedSegmentKey> ParseWalSegmentKey(absl::string_view key) {
  absl::string_view name = BaseName(key);
  if (!absl::ConsumeSuffix(&name, ".seg") || name.size() != 33 || name[16] != '-') {
    return std::nullopt;
  }
  auto first = ParseKeyLsn(name.substr(0, 16));
  auto last = ParseKeyLsn(name.substr(17));
  if (!first || !last || *last < *first) return std::nullopt;
  return ParsedSegmentKey{*first, *last};
}

std::optional<Lsn> ParseSegmentPartKey(absl::string_view key) {
  absl::string_view name = BaseName(key);
  // <16 hex>-<16 hex>-<number, 6 digits or more>
  if (!absl::ConsumeSuffix(&name, ".seg") || name.size() < 16 + 1 + 16 + 1 + 6 ||
      name[16] != '-' || name[33] != '-') {
    return std::nullopt;
  }
  for (char c : name.substr(34)) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return ParseKeyLsn(name.substr(0, 16));
}

std::optional<Lsn> ParseSegmentIndexKey(absl::string_view key) {
  absl::string_view name = BaseName(key);
  if (!absl::ConsumeSuffix(&name, ".idx")) return std::nullopt;
  return ParseKeyLsn(name);
}

absl::Status ValidateObjectKey(absl::string_view key) {
  auto invalid = [key](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid object key \"%s\": %s (keys are '/'-separated segments of "
        "[A-Za-z0-9._-])",
        absl::CHexEscape(key), why));
  };
  if (key.empty()) return invalid("it is empty");
  if (key.front() == '/') return invalid("it starts with '/'");
  for (absl::string_view segment : absl::StrSplit(key, '/')) {
    if (segment.empty()) return invalid("it has an empty segment");
    if (segment == "." || segment == "..") return invalid("it has a \".\" or \"..\" segment");
    for (char c : segment) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return invalid("it holds a character outside [A-Za-z0-9._-]");
    }
  }
  return absl::OkStatus();
}

std::string BaseDirKey(const StreamId& stream, Lsn snapshot_lsn) {
  return absl::StrCat(stream.Prefix(), "base/", snapshot_lsn.ToKey(), "/");
}

std::string BaseManifestKey(const StreamId& stream, Lsn snapshot_lsn) {
  return absl::StrCat(BaseDirKey(stream, snapshot_lsn), "manifest.pb");
}

std::string EncodeKeyName(absl::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_';
    if (plain) {
      out.push_back(c);
    } else {
      unsigned char byte = static_cast<unsigned char>(c);
      out.push_back('-');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

std::optional<std::string> DecodeKeyName(absl::string_view encoded) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c != '-') {
      bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || c == '_';
      if (!plain) return std::nullopt;
      out.push_back(c);
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    int high = hex(encoded[i + 1]);
    int low = hex(encoded[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::string BaseSegmentKey(const StreamId& stream, Lsn snapshot_lsn, absl::string_view schema,
                           absl::string_view table, uint32_t n) {
  return absl::StrCat(BaseDirKey(stream, snapshot_lsn), EncodeKeyName(schema), ".",
                      EncodeKeyName(table), ".", n, ".seg");
}

std::optional<ParsedBaseKey> ParseBaseKey(absl::string_view key) {
  // Find ".../base/<lsn16>/<file>" with <file> non-empty.
  size_t pos = 0;
  while (true) {
    size_t found = key.find("base/", pos);
    if (found == absl::string_view::npos) return std::nullopt;
    bool at_segment_start = found == 0 || key[found - 1] == '/';
    absl::string_view rest = key.substr(found + 5);
    if (at_segment_start && rest.size() > 17 && rest[16] == '/') {
      auto lsn = ParseKeyLsn(rest.substr(0, 16));
      absl::string_view file = rest.substr(17);
      if (lsn && file.find('/') == absl::string_view::npos) {
        return ParsedBaseKey{*lsn, std::string(file)};
      }
    }
    pos = found + 1;
  }
}

std::optional<ParsedBaseSegmentKey> ParseBaseSegmentKey(absl::string_view key) {
  absl::string_view name = BaseName(key);
  if (!absl::ConsumeSuffix(&name, ".seg")) return std::nullopt;
  std::vector<absl::string_view> parts = absl::StrSplit(name, '.');
  if (parts.size() != 3 || parts[2].empty() || parts[2].size() > 9) return std::nullopt;
  ParsedBaseSegmentKey parsed;
  for (char c : parts[2]) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (!absl::SimpleAtoi(parts[2], &parsed.n)) return std::nullopt;
  auto schema = DecodeKeyName(parts[0]);
  auto table = DecodeKeyName(parts[1]);
  if (!schema || !table || schema->empty() || table->empty()) return std::nullopt;
  parsed.schema = *std::move(schema);
  parsed.table = *std::move(table);
  return parsed;
}

}  // namespace walship::sinks
