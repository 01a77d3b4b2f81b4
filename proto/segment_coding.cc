// CRC-32 (zlib) and SHA-256 (OpenSSL) for the segment codec.
#include "proto/segment_coding.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>

namespace walship::proto::internal {

uint32_t Crc32(absl::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const char* p = data.data();
  size_t left = data.size();
  // zlib takes a uInt length; feed large inputs in pieces.
  while (left > 0) {
    uInt n = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(p), n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()), ok_(ctx_ != nullptr) {
  if (ok_) ok_ = EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(absl::string_view data) {
  if (ok_ && !data.empty()) ok_ = EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1;
}

std::array<unsigned char, Sha256::kDigestBytes> Sha256::Finish() {
  std::array<unsigned char, kDigestBytes> digest{};
  unsigned int len = 0;
  if (ok_) ok_ = EVP_DigestFinal_ex(ctx_, digest.data(), &len) == 1 && len == kDigestBytes;
  return digest;
}

}  // namespace walship::proto::internal
