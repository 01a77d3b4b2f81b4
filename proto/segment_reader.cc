// SegmentReader: checks the footer and the whole-object SHA-256 before anything is used,
// then decodes one frame at a time. Every failure names the object and the byte offset.
#include "proto/segment_reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "proto/segment_coding.h"
#include "proto/segment_format.h"

namespace walship::proto {
namespace {

// Bytes hashed per ReadAt while checking the object's SHA-256.
constexpr size_t kHashChunkBytes = 1 << 20;
constexpr size_t kSegmentHeaderPrefixBytes = sizeof(kSegmentMagic) + 4;
constexpr size_t kTrailerBlockHeaderBytes = 1 + 4;
// The smallest object that can be a segment: header prefix, trailer block header, footer.
constexpr uint64_t kMinSegmentBytes =
    kSegmentHeaderPrefixBytes + kTrailerBlockHeaderBytes + kFooterBytes;

absl::Status Corrupt(const RandomAccessSource& source, uint64_t offset,
                     absl::string_view what) {
  return absl::DataLossError(absl::StrFormat("segment \"%s\" is corrupt at byte %d: %s",
                                             source.name(), offset, what));
}

absl::Status Truncated(const RandomAccessSource& source, uint64_t offset,
                       absl::string_view what) {
  return absl::DataLossError(absl::StrFormat("segment \"%s\" is truncated at byte %d: %s",
                                             source.name(), offset, what));
}

// ReadAt with the codec's error convention: reading past the end means the object is
// truncated (kDataLoss); other failures (an unreachable bucket) keep their code.
absl::Status ReadExact(const RandomAccessSource& source, uint64_t offset, size_t n,
                       std::string* out) {
  absl::Status status = source.ReadAt(offset, n, out);
  if (status.ok() && out->size() != n) {
    status = absl::OutOfRangeError(absl::StrFormat("got %d of %d bytes", out->size(), n));
  }
  if (status.ok()) return status;
  if (status.code() == absl::StatusCode::kOutOfRange) {
    return Truncated(source, offset, status.message());
  }
  return absl::Status(status.code(),
                      absl::StrFormat("reading segment \"%s\" at byte %d: %s", source.name(),
                                      offset, status.message()));
}

// What Open() learns from the object's frame of reference.
struct SegmentLayout {
  v1::SegmentHeader header;
  v1::SegmentTrailer trailer;
  std::string digest;  // the SHA-256 the footer holds (checked)
  uint64_t first_frame_offset = 0;
  uint64_t trailer_offset = 0;
};

absl::Status CheckDigest(const RandomAccessSource& source, uint64_t hashed_bytes,
                         absl::string_view expected) {
  internal::Sha256 sha;
  std::string chunk;
  for (uint64_t offset = 0; offset < hashed_bytes;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kHashChunkBytes, hashed_bytes - offset));
    WALSHIP_RETURN_IF_ERROR(ReadExact(source, offset, n, &chunk));
    sha.Update(chunk);
    offset += n;
  }
  std::array<unsigned char, internal::Sha256::kDigestBytes> digest = sha.Finish();
  if (!sha.ok()) return absl::InternalError("sha-256 context failed");
  if (std::memcmp(digest.data(), expected.data(), digest.size()) != 0) {
    return Corrupt(source, hashed_bytes + 4,
                   absl::StrFormat("sha-256 checksum mismatch over bytes 0..%d", hashed_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<SegmentLayout> ReadLayout(const RandomAccessSource& source) {
  const uint64_t size = source.size();
  if (size < kMinSegmentBytes) {
    return Truncated(source, size,
                     absl::StrFormat("only %d bytes, a segment has at least %d", size,
                                     kMinSegmentBytes));
  }
  std::string prefix;
  WALSHIP_RETURN_IF_ERROR(ReadExact(source, 0, kSegmentHeaderPrefixBytes, &prefix));
  if (std::memcmp(prefix.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Corrupt(source, 0, "bad magic, not a walship segment");
  }
  const uint32_t header_len = internal::GetFixed32(prefix.data() + sizeof(kSegmentMagic));

  const uint64_t footer_offset = size - kFooterBytes;
  std::string footer;
  WALSHIP_RETURN_IF_ERROR(ReadExact(source, footer_offset, kFooterBytes, &footer));
  const char* footer_magic = footer.data() + 4 + internal::Sha256::kDigestBytes;
  if (std::memcmp(footer_magic, kFooterMagic, sizeof(kFooterMagic)) != 0) {
    // Without its end marker the object is most likely an incomplete upload or copy.
    return Truncated(source, size - sizeof(kFooterMagic),
                     "end marker missing (incomplete or damaged object)");
  }
  const uint64_t trailer_offset = internal::GetFixed32(footer.data());
  const uint64_t first_frame_offset = kSegmentHeaderPrefixBytes + uint64_t{header_len};
  if (header_len > kMaxHeaderBytes || first_frame_offset > trailer_offset ||
      trailer_offset + kTrailerBlockHeaderBytes > footer_offset) {
    return Corrupt(source, footer_offset,
                   absl::StrFormat("trailer offset %d and header length %d do not fit a "
                                   "%d-byte object",
                                   trailer_offset, header_len, size));
  }
  WALSHIP_RETURN_IF_ERROR(CheckDigest(
      source, footer_offset, absl::string_view(footer.data() + 4, internal::Sha256::kDigestBytes)));

  SegmentLayout layout;
  layout.digest.assign(footer.data() + 4, internal::Sha256::kDigestBytes);
  layout.first_frame_offset = first_frame_offset;
  layout.trailer_offset = trailer_offset;
  std::string bytes;
  WALSHIP_RETURN_IF_ERROR(ReadExact(source, kSegmentHeaderPrefixBytes, header_len, &bytes));
  if (!layout.header.ParseFromString(bytes)) {
    return Corrupt(source, kSegmentHeaderPrefixBytes, "header does not parse");
  }
  if (layout.header.format_version() < kOldestSegmentFormatVersion ||
      layout.header.format_version() > kNewestSegmentFormatVersion) {
    return Corrupt(source, kSegmentHeaderPrefixBytes,
                   absl::StrFormat("format version %d is not supported (this walship reads "
                                   "versions %d to %d); %s",
                                   layout.header.format_version(), kOldestSegmentFormatVersion,
                                   kNewestSegmentFormatVersion,
                                   layout.header.format_version() > kNewestSegmentFormatVersion
                                       ? "it was written by a newer walship: upgrade walship"
                                       : "the object is not a walship segment"));
  }
  if (layout.header.codec() != v1::CODEC_NONE && layout.header.codec() != v1::CODEC_ZSTD) {
    return Corrupt(source, kSegmentHeaderPrefixBytes,
                   absl::StrFormat("unknown codec %d", static_cast<int>(layout.header.codec())));
  }

  WALSHIP_RETURN_IF_ERROR(
      ReadExact(source, trailer_offset, footer_offset - trailer_offset, &bytes));
  if (static_cast<uint8_t>(bytes[0]) != kFrameTrailer) {
    return Corrupt(source, trailer_offset,
                   absl::StrFormat("expected a trailer block, found type %d",
                                   static_cast<uint8_t>(bytes[0])));
  }
  const uint32_t trailer_len = internal::GetFixed32(bytes.data() + 1);
  if (trailer_len != bytes.size() - kTrailerBlockHeaderBytes) {
    return Corrupt(source, trailer_offset,
                   absl::StrFormat("trailer length %d does not reach the footer (%d bytes)",
                                   trailer_len, bytes.size() - kTrailerBlockHeaderBytes));
  }
  if (!layout.trailer.ParseFromArray(bytes.data() + kTrailerBlockHeaderBytes,
                                     static_cast<int>(trailer_len))) {
    return Corrupt(source, trailer_offset + kTrailerBlockHeaderBytes, "trailer does not parse");
  }
  return layout;
}

class SegmentReaderImpl : public SegmentReader {
 public:
  SegmentReaderImpl(const RandomAccessSource* source, SegmentLayout layout)
      : source_(*source), layout_(std::move(layout)), offset_(layout_.first_frame_offset) {}

  const v1::SegmentHeader& header() const override { return layout_.header; }
  const v1::SegmentTrailer& trailer() const override { return layout_.trailer; }
  const std::string& digest() const override { return layout_.digest; }

  absl::StatusOr<bool> Next(v1::Record* record) override {
    WALSHIP_RETURN_IF_ERROR(status_);
    while (pos_ >= raw_.size()) {
      if (offset_ == layout_.trailer_offset) {
        if (records_read_ != layout_.trailer.record_count()) {
          return status_ = Corrupt(source_, layout_.trailer_offset,
                                   absl::StrFormat("trailer counts %d records, frames hold %d",
                                                   layout_.trailer.record_count(),
                                                   records_read_));
        }
        return false;
      }
      status_ = ReadFrame();
      WALSHIP_RETURN_IF_ERROR(status_);
    }
    uint32_t len = 0;
    const size_t record_pos = pos_;
    if (!internal::GetVarint32(raw_, &pos_, &len) || len > kMaxRecordBytes ||
        len > raw_.size() - pos_) {
      return status_ = Corrupt(source_, frame_offset_,
                               absl::StrFormat("bad record length at offset %d of the frame",
                                               record_pos));
    }
    if (!record->ParseFromArray(raw_.data() + pos_, static_cast<int>(len))) {
      return status_ = Corrupt(source_, frame_offset_,
                               absl::StrFormat("record at offset %d of the frame does not parse",
                                               record_pos));
    }
    pos_ += len;
    ++records_read_;
    return true;
  }

 private:
  // Reads, checks and decodes the frame at offset_ into raw_.
  absl::Status ReadFrame() {
    frame_offset_ = offset_;
    const uint64_t limit = layout_.trailer_offset;
    if (limit - offset_ < kFrameHeaderBytes) {
      return Corrupt(source_, offset_, "frame header runs into the trailer");
    }
    std::string head;
    WALSHIP_RETURN_IF_ERROR(ReadExact(source_, offset_, kFrameHeaderBytes, &head));
    const uint8_t type = static_cast<uint8_t>(head[0]);
    const uint32_t stored_len = internal::GetFixed32(head.data() + 1);
    const uint32_t raw_len = internal::GetFixed32(head.data() + 5);
    const uint32_t crc = internal::GetFixed32(head.data() + 9);
    if (type != kFrameRecords) {
      return Corrupt(source_, offset_, absl::StrFormat("unknown frame type %d", type));
    }
    if (stored_len > kMaxFrameBytes || raw_len > kMaxFrameBytes) {
      return Corrupt(source_, offset_,
                     absl::StrFormat("frame sizes %d/%d exceed the limit of %d", stored_len,
                                     raw_len, kMaxFrameBytes));
    }
    if (stored_len > limit - offset_ - kFrameHeaderBytes) {
      return Corrupt(source_, offset_,
                     absl::StrFormat("frame of %d bytes runs into the trailer", stored_len));
    }
    const uint64_t data_offset = offset_ + kFrameHeaderBytes;
    WALSHIP_RETURN_IF_ERROR(ReadExact(source_, data_offset, stored_len, &stored_));
    if (internal::Crc32(stored_) != crc) {
      return Corrupt(source_, offset_, "frame checksum mismatch");
    }
    if (layout_.header.codec() == v1::CODEC_NONE) {
      if (raw_len != stored_len) {
        return Corrupt(source_, offset_, "uncompressed frame with differing lengths");
      }
      raw_.swap(stored_);
    } else {
      if (dctx_ == nullptr) {
        dctx_.reset(ZSTD_createDCtx());
        if (dctx_ == nullptr) return absl::ResourceExhaustedError("zstd context: out of memory");
      }
      raw_.resize(raw_len);
      size_t n = ZSTD_decompressDCtx(dctx_.get(), raw_.data(), raw_.size(), stored_.data(),
                                     stored_.size());
      if (ZSTD_isError(n)) {
        return Corrupt(source_, data_offset,
                       absl::StrFormat("zstd: %s", ZSTD_getErrorName(n)));
      }
      if (n != raw_len) {
        return Corrupt(source_, offset_,
                       absl::StrFormat("frame decompressed to %d bytes, header says %d", n,
                                       raw_len));
      }
    }
    pos_ = 0;
    offset_ = data_offset + stored_len;
    return absl::OkStatus();
  }

  const RandomAccessSource& source_;
  const SegmentLayout layout_;
  internal::ZstdDCtxPtr dctx_;  // created at the first compressed frame
  uint64_t offset_;             // the next frame's offset
  uint64_t frame_offset_ = 0;   // the current frame's offset, for errors
  std::string stored_;
  std::string raw_;
  size_t pos_ = 0;
  uint64_t records_read_ = 0;
  absl::Status status_;  // the first error, returned on every later call
};

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentReader>> SegmentReader::Open(
    const RandomAccessSource* source) {
  if (source == nullptr) return absl::InvalidArgumentError("segment reader needs a source");
  WALSHIP_ASSIGN_OR_RETURN(SegmentLayout layout, ReadLayout(*source));
  return std::unique_ptr<SegmentReader>(
      std::make_unique<SegmentReaderImpl>(source, std::move(layout)));
}

absl::StatusOr<v1::SegmentTrailer> ReadSegmentTrailer(const RandomAccessSource* source) {
  if (source == nullptr) return absl::InvalidArgumentError("segment reader needs a source");
  WALSHIP_ASSIGN_OR_RETURN(SegmentLayout layout, ReadLayout(*source));
  return std::move(layout.trailer);
}

}  // namespace walship::proto
