// Encoding and parsing of the encrypted-object header, and size arithmetic.
#include "sinks/object_store/encryption/envelope_format.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "sinks/object_store/encryption/key_ring.h"

namespace walship::sinks::envelope {
namespace {

absl::Status Truncated(absl::string_view object_key, uint64_t size) {
  return absl::DataLossError(absl::StrFormat(
      "encrypted object \"%s\" is truncated: %d bytes cannot hold its header and chunks",
      object_key, size));
}

}  // namespace

std::string Header::Encode() const {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(key_id.size()));
  out.append(key_id);
  out.append(reinterpret_cast<const char*>(base_nonce.data()), base_nonce.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((chunk_size >> shift) & 0xff));
  }
  return out;
}

absl::StatusOr<Header> ParseHeader(absl::string_view object_key, absl::string_view bytes) {
  size_t compared = std::min(bytes.size(), kMagic.size());
  if (bytes.empty() || bytes.substr(0, compared) != kMagic.substr(0, compared)) {
    return absl::DataLossError(absl::StrFormat(
        "object \"%s\" is not an encrypted object (no \"WSHPENC\" header) but encryption is "
        "configured: it was written without --encryption-key-file or is not a walship object",
        object_key));
  }
  if (bytes.size() < kMagic.size() + 2) return Truncated(object_key, bytes.size());
  uint8_t version = static_cast<uint8_t>(bytes[kMagic.size()]);
  if (version != kVersion) {
    return absl::DataLossError(absl::StrFormat(
        "encrypted object \"%s\" has envelope version %d; this walship reads version %d",
        object_key, version, kVersion));
  }
  size_t id_length = static_cast<uint8_t>(bytes[kMagic.size() + 1]);
  Header header;
  if (bytes.size() < kFixedHeaderBytes + id_length) return Truncated(object_key, bytes.size());
  size_t pos = kMagic.size() + 2;
  header.key_id = std::string(bytes.substr(pos, id_length));
  if (!KeyRing::IsValidKeyId(header.key_id)) {
    return absl::DataLossError(absl::StrFormat(
        "encrypted object \"%s\" has a corrupt header: invalid key id", object_key));
  }
  pos += id_length;
  for (size_t i = 0; i < kNonceBytes; ++i) {
    header.base_nonce[i] = static_cast<uint8_t>(bytes[pos + i]);
  }
  pos += kNonceBytes;
  header.chunk_size = 0;
  for (size_t i = 0; i < 4; ++i) {
    header.chunk_size = (header.chunk_size << 8) | static_cast<uint8_t>(bytes[pos + i]);
  }
  if (header.chunk_size == 0 || header.chunk_size > kMaxChunkSize) {
    return absl::DataLossError(absl::StrFormat(
        "encrypted object \"%s\" has a corrupt header: chunk size %d is outside 1..%d", object_key,
        header.chunk_size, kMaxChunkSize));
  }
  return header;
}

Nonce ChunkNonce(const Nonce& base, uint64_t index, bool final) {
  uint64_t counter = index | (final ? (uint64_t{1} << 63) : 0);
  Nonce nonce = base;
  for (int i = 0; i < 8; ++i) {
    nonce[kNonceBytes - 1 - i] ^= static_cast<uint8_t>((counter >> (8 * i)) & 0xff);
  }
  return nonce;
}

absl::StatusOr<Layout> LayoutFromStoredSize(absl::string_view object_key, const Header& header,
                                            uint64_t stored_size) {
  Layout layout;
  layout.header_bytes = header.EncodedSize();
  layout.chunk_size = header.chunk_size;
  if (stored_size < layout.header_bytes + kTagBytes) return Truncated(object_key, stored_size);
  uint64_t body = stored_size - layout.header_bytes;
  uint64_t stored_chunk = uint64_t{header.chunk_size} + kTagBytes;
  layout.chunk_count = (body + stored_chunk - 1) / stored_chunk;
  uint64_t last = body - (layout.chunk_count - 1) * stored_chunk;
  if (last < kTagBytes) return Truncated(object_key, stored_size);
  layout.plaintext_size = body - layout.chunk_count * kTagBytes;
  return layout;
}

uint64_t StoredSize(const Header& header, uint64_t plaintext_size) {
  uint64_t chunks =
      plaintext_size == 0 ? 1 : (plaintext_size + header.chunk_size - 1) / header.chunk_size;
  return header.EncodedSize() + plaintext_size + chunks * kTagBytes;
}

}  // namespace walship::sinks::envelope
