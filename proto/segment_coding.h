// Internal helpers of the segment codec: little-endian integers, varints, CRC-32, a
// streaming SHA-256 and owning handles for the zstd contexts. Used by segment_writer.cc and
// segment_reader.cc only; not part of the public API.
#ifndef WALSHIP_PROTO_SEGMENT_CODING_H_
#define WALSHIP_PROTO_SEGMENT_CODING_H_

#include <zstd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

struct evp_md_ctx_st;

namespace walship::proto::internal {

inline void PutFixed32(std::string* out, uint32_t v) {
  char buf[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                 static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 24) & 0xff)};
  out->append(buf, 4);
}

// Reads 4 little-endian bytes at `p` (the caller checked that they exist).
inline uint32_t GetFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | (static_cast<uint32_t>(u[1]) << 8) |
         (static_cast<uint32_t>(u[2]) << 16) | (static_cast<uint32_t>(u[3]) << 24);
}

inline void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Decodes a varint32 from `in` starting at `*pos`; advances `*pos`. False when the input
// ends inside the varint or the varint does not fit 32 bits.
inline bool GetVarint32(absl::string_view in, size_t* pos, uint32_t* value) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (*pos >= in.size()) return false;
    uint32_t byte = static_cast<unsigned char>(in[(*pos)++]);
    if (shift == 28 && byte > 0x0f) return false;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

// zlib's CRC-32 of `data`.
uint32_t Crc32(absl::string_view data);

// Streaming SHA-256 (OpenSSL EVP). Not thread-safe.
class Sha256 {
 public:
  static constexpr size_t kDigestBytes = 32;
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // False only when OpenSSL fails (out of memory); the digest is then unusable.
  bool ok() const { return ok_; }
  void Update(absl::string_view data);
  // The digest of everything passed to Update(); call once.
  std::array<unsigned char, kDigestBytes> Finish();

 private:
  evp_md_ctx_st* ctx_;
  bool ok_;
};

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};
using ZstdCCtxPtr = std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter>;
using ZstdDCtxPtr = std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter>;

}  // namespace walship::proto::internal

#endif  // WALSHIP_PROTO_SEGMENT_CODING_H_
