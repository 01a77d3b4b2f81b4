// Writes one segment (change or base) record by record to a ByteSink, in bounded memory.
#ifndef WALSHIP_PROTO_SEGMENT_WRITER_H_
#define WALSHIP_PROTO_SEGMENT_WRITER_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/byte_io.h"
#include "proto/walship.pb.h"

namespace walship::proto {

struct SegmentWriterOptions {
  // zstd level; CODEC_NONE in the header writes frames uncompressed.
  int zstd_level = 3;
};

// Usage: Create → Add(record)... → Finish(previous_end_lsn). The trailer's counts, LSN,
// time and xid ranges and marks are computed from the events added. The sink must outlive
// the writer. Not thread-safe.
// Create() writes the header at once; the header's codec must be CODEC_NONE or CODEC_ZSTD
// and a zero format_version is filled in (kInvalidArgument otherwise). The first sink error
// is returned by that call and every later one: a failed segment must be abandoned.
// Memory: one frame (kTargetFrameRawBytes) of raw records plus its compressed copy.
class SegmentWriter {
 public:
  static absl::StatusOr<std::unique_ptr<SegmentWriter>> Create(
      ByteSink* sink, const v1::SegmentHeader& header, SegmentWriterOptions options = {});
  virtual ~SegmentWriter() = default;

  virtual absl::Status Add(const v1::Record& record) = 0;
  // Bytes written to the sink so far, and raw (uncompressed) record bytes added so far.
  virtual uint64_t bytes_written() const = 0;
  virtual uint64_t raw_bytes() const = 0;
  // The trailer as it stands (counts, ranges) — valid at any time.
  virtual const v1::SegmentTrailer& trailer() const = 0;
  // This object continues a segment split across objects: `earlier` is the trailer of the
  // part before it (itself cumulative). Finish() then writes a trailer for the whole segment
  // so far (events, transactions, ranges, relations, marks, recordings), while record_count
  // and uncompressed_bytes stay this object's own (the reader checks them against it).
  virtual void CarryOver(const v1::SegmentTrailer& earlier) = 0;
  // This object is part `number` (from 1) of a segment split across objects.
  virtual void MarkAsPart(uint32_t number) = 0;
  // This object completes a segment split across objects: its trailer names these parts.
  virtual void SetPartsBefore(std::vector<v1::SegmentPartRef> parts) = 0;
  // Writes the last frame, the trailer and the footer. No Add() after it.
  virtual absl::Status Finish(uint64_t previous_end_lsn) = 0;
};

// The trailer of `earlier` followed by `later` (the rule CarryOver() applies).
v1::SegmentTrailer MergeTrailers(const v1::SegmentTrailer& earlier,
                                 const v1::SegmentTrailer& later);

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_SEGMENT_WRITER_H_
