// Object key construction and parsing.
#include "sinks/object_store/layout.h"

#include "absl/strings/escaping.h"
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

std::string StreamId::Prefix() const { return absl::StrCat(system_id, "/", slot, "/"); }

std::string WalSegmentKey(const StreamId& stream, Lsn first_commit, Lsn last_end) {
  return absl::StrCat(stream.Prefix(), "wal/", first_commit.ToKey(), "-", last_end.ToKey(),
                      ".seg");
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

}  // namespace walship::sinks
