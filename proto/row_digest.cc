// RowDigest over OpenSSL's MD5 (EVP), one reused context for every row.
#include "proto/row_digest.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace walship::proto {

struct RowDigest::Hasher {
  Hasher() : ctx(EVP_MD_CTX_new()) {}
  ~Hasher() { EVP_MD_CTX_free(ctx); }
  EVP_MD_CTX* ctx;
};

RowDigest::RowDigest() = default;
RowDigest::~RowDigest() = default;
RowDigest::RowDigest(const RowDigest& other)
    : rows_(other.rows_), high_(other.high_), low_(other.low_) {}
RowDigest& RowDigest::operator=(const RowDigest& other) {
  rows_ = other.rows_;
  high_ = other.high_;
  low_ = other.low_;
  return *this;
}

namespace {
uint64_t BigEndian64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

void RowDigest::Add(absl::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (hasher_ == nullptr) hasher_ = std::make_unique<Hasher>();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // MD5 cannot fail on a valid context; a failure would leave `md` unset, so count it out.
  if (hasher_->ctx == nullptr || EVP_DigestInit_ex(hasher_->ctx, EVP_md5(), nullptr) != 1 ||
      EVP_DigestUpdate(hasher_->ctx, line.data(), line.size()) != 1 ||
      EVP_DigestFinal_ex(hasher_->ctx, md, &size) != 1 || size != 16) {
    abort();
  }
  ++rows_;
  high_ += BigEndian64(md);
  low_ += BigEndian64(md + 8);
}

void RowDigest::AddLines(absl::string_view lines) {
  while (!lines.empty()) {
    size_t end = lines.find('\n');
    if (end == absl::string_view::npos) end = lines.size();
    Add(lines.substr(0, end));
    lines.remove_prefix(std::min(lines.size(), end + 1));
  }
}

void RowDigest::Merge(const RowDigest& other) {
  rows_ += other.rows_;
  high_ += other.high_;
  low_ += other.low_;
}

std::string RowDigest::Hex() const { return absl::StrFormat("%016x%016x", high_, low_); }

std::optional<RowDigest> RowDigest::FromHex(absl::string_view hex, uint64_t rows) {
  if (hex.size() != 32) return std::nullopt;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  std::string bytes = absl::HexStringToBytes(hex);
  RowDigest digest;
  digest.rows_ = rows;
  digest.high_ = BigEndian64(reinterpret_cast<const unsigned char*>(bytes.data()));
  digest.low_ = BigEndian64(reinterpret_cast<const unsigned char*>(bytes.data()) + 8);
  return digest;
}

}  // namespace walship::proto
