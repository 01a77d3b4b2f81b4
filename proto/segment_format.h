// The on-disk (and in-bucket) layout of a segment. Every byte counted; all integers are
// little-endian.
//
//   file    := header frame* trailer_block footer
//   header  := magic "WSHPSEG\x01" (8) | u32 header_len | SegmentHeader proto (header_len)
//   frame   := u8 frame_type (1 = records) | u32 stored_len | u32 raw_len
//              | u32 crc32(stored bytes) | stored bytes (stored_len)
//              raw bytes (zstd-decompressed, or as stored for CODEC_NONE) are a sequence of
//              varint32 length + Record proto. A record never spans two frames.
//   trailer_block := u8 frame_type (2 = trailer) | u32 trailer_len | SegmentTrailer proto
//   footer  := u32 trailer_block_offset | u8[32] sha256(every byte before the footer)
//              | magic "WSHPEND\x01" (8)                              -- 44 bytes in all
//
// A reader checks the footer first (magic, then checksum over the whole object), so a
// truncated or corrupt object is refused before any record is used.
#ifndef WALSHIP_PROTO_SEGMENT_FORMAT_H_
#define WALSHIP_PROTO_SEGMENT_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace walship::proto {

inline constexpr char kSegmentMagic[8] = {'W', 'S', 'H', 'P', 'S', 'E', 'G', '\x01'};
inline constexpr char kFooterMagic[8] = {'W', 'S', 'H', 'P', 'E', 'N', 'D', '\x01'};
// Format 2 adds the slot incarnation to the header (and index objects carry a checksum);
// format 1 objects are still read. A newer version is refused by name.
inline constexpr uint32_t kSegmentFormatVersion = 2;
inline constexpr uint32_t kOldestSegmentFormatVersion = 1;
// Format 3: an object that continues a change segment split across objects (the completing
// object's trailer lists the parts before it). Written only for such objects, so that a
// walship that cannot read parts refuses them rather than missing their records.
inline constexpr uint32_t kSegmentFormatWithParts = 3;
inline constexpr uint32_t kNewestSegmentFormatVersion = kSegmentFormatWithParts;
inline constexpr uint8_t kFrameRecords = 1;
inline constexpr uint8_t kFrameTrailer = 2;
inline constexpr size_t kFrameHeaderBytes = 1 + 4 + 4 + 4;
inline constexpr size_t kFooterBytes = 4 + 32 + 8;
// Raw bytes gathered before a frame is compressed and written.
inline constexpr size_t kTargetFrameRawBytes = 256 * 1024;
// Upper bounds a reader enforces before allocating (hostile input).
inline constexpr uint32_t kMaxHeaderBytes = 1 << 20;
inline constexpr uint32_t kMaxFrameBytes = 256u << 20;
inline constexpr uint32_t kMaxRecordBytes = 1u << 30;

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_SEGMENT_FORMAT_H_
