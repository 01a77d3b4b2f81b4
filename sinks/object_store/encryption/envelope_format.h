// The encrypted-object envelope: every byte of the header, and the arithmetic between
// plaintext and stored sizes. The format, in order:
//
//   header  = magic "WSHPENC\x01"        8 bytes
//             version (1)                u8
//             key_id_len (1..64)         u8
//             key_id                     key_id_len bytes, [A-Za-z0-9_-]
//             base_nonce                 12 bytes, random per object
//             chunk_size                 u32 big-endian, plaintext bytes per chunk (64 KiB)
//   chunks  = chunk_size plaintext bytes each (the last one shorter, possibly empty) as
//             AES-256-GCM ciphertext followed by its 16-byte tag.
//
// Chunk i's nonce is base_nonce XOR (i as u64 big-endian in its last 8 bytes), with the
// top bit of that u64 set for the final chunk, so cutting an object at a chunk boundary
// fails authentication. Every chunk's associated data is the object's key name followed
// by the header bytes, binding the ciphertext to the name it was written under. An empty
// object still has one (empty, final) chunk.
#ifndef WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENVELOPE_FORMAT_H_
#define WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENVELOPE_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::sinks::envelope {

inline constexpr absl::string_view kMagic("WSHPENC\x01", 8);
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kMaxKeyIdBytes = 64;
inline constexpr uint32_t kDefaultChunkSize = 64 * 1024;
// Readers refuse larger chunks so a corrupt header cannot make them allocate much.
inline constexpr uint32_t kMaxChunkSize = 16 * 1024 * 1024;
// magic + version + key_id_len + key_id + nonce + chunk_size
inline constexpr size_t kFixedHeaderBytes = kMagic.size() + 1 + 1 + kNonceBytes + 4;
inline constexpr size_t kMaxHeaderBytes = kFixedHeaderBytes + kMaxKeyIdBytes;

using Nonce = std::array<uint8_t, kNonceBytes>;

struct Header {
  std::string key_id;
  Nonce base_nonce{};
  uint32_t chunk_size = kDefaultChunkSize;

  size_t EncodedSize() const { return kFixedHeaderBytes + key_id.size(); }
  std::string Encode() const;
};

// Parses the header at the start of `bytes` (the first min(object size, kMaxHeaderBytes)
// bytes of the object `object_key`). kDataLoss when the magic is absent ("not an
// encrypted object"), the header is cut short, or a field is out of range.
absl::StatusOr<Header> ParseHeader(absl::string_view object_key, absl::string_view bytes);

// The nonce of chunk `index`.
Nonce ChunkNonce(const Nonce& base, uint64_t index, bool final);

// Where the chunks of one object lie, derived from its stored size.
struct Layout {
  uint64_t header_bytes = 0;
  uint32_t chunk_size = 0;
  uint64_t chunk_count = 0;  // at least 1
  uint64_t plaintext_size = 0;

  uint64_t StoredChunkOffset(uint64_t index) const {
    return header_bytes + index * (uint64_t{chunk_size} + kTagBytes);
  }
  // Plaintext bytes in chunk `index`.
  uint64_t PlainChunkSize(uint64_t index) const {
    return index + 1 < chunk_count ? chunk_size
                                   : plaintext_size - (chunk_count - 1) * uint64_t{chunk_size};
  }
};

// kDataLoss naming `object_key` when `stored_size` cannot hold the header and at least one
// tag, or the last chunk is shorter than a tag (the object was cut mid-chunk).
absl::StatusOr<Layout> LayoutFromStoredSize(absl::string_view object_key, const Header& header,
                                            uint64_t stored_size);

// The stored size of `plaintext_size` bytes written with `header`.
uint64_t StoredSize(const Header& header, uint64_t plaintext_size);

}  // namespace walship::sinks::envelope

#endif  // WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENVELOPE_FORMAT_H_
