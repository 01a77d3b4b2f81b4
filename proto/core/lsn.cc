// Parsing and printing of LSNs.
#include "proto/core/lsn.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace walship {
namespace {

bool ParseHex(absl::string_view text, size_t max_digits, uint64_t* out) {
  if (text.empty() || text.size() > max_digits) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    value = value * 16 + (std::isdigit(static_cast<unsigned char>(c))
                              ? c - '0'
                              : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
  }
  *out = value;
  return true;
}

}  // namespace

absl::StatusOr<Lsn> Lsn::Parse(absl::string_view text) {
  size_t slash = text.find('/');
  uint64_t hi = 0, lo = 0;
  if (slash == absl::string_view::npos) {
    if (text.size() == 16 && ParseHex(text, 16, &lo)) return Lsn(lo);
  } else if (ParseHex(text.substr(0, slash), 8, &hi) &&
             ParseHex(text.substr(slash + 1), 8, &lo)) {
    return Lsn((hi << 32) | lo);
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "invalid LSN \"%s\": expected the form 16/B374D848 (as pg_current_wal_lsn() prints)",
      text));
}

std::string Lsn::ToString() const {
  return absl::StrFormat("%X/%X", static_cast<uint32_t>(value_ >> 32),
                         static_cast<uint32_t>(value_));
}

std::string Lsn::ToKey() const { return absl::StrFormat("%016X", value_); }

std::string EventPosition::ToString() const {
  return absl::StrCat(commit_lsn.ToString(), "#", sequence);
}

std::string Xid::ToString() const { return absl::StrCat(value_); }

std::string RelationOid::ToString() const { return absl::StrCat(value_); }

}  // namespace walship
