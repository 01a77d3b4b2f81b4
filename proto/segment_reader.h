// Reads and checks a segment written by SegmentWriter.
#ifndef WALSHIP_PROTO_SEGMENT_READER_H_
#define WALSHIP_PROTO_SEGMENT_READER_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/byte_io.h"
#include "proto/walship.pb.h"

namespace walship::proto {

// Open() checks magic, footer and the whole-object SHA-256 before returning, so no record
// of a truncated or corrupt object is ever used. Errors are kDataLoss and name the object
// and the byte offset ("segment \"wal/...seg\" is truncated at byte 1234: ..."). Records
// are then decoded one frame at a time (bounded memory). The source must outlive the
// reader. Not thread-safe.
// A source's own failures other than kOutOfRange (an unreachable bucket: kUnavailable) keep
// their code, annotated with the object and offset, so callers can retry them.
// After an error, Next() returns the same error on every later call.
class SegmentReader {
 public:
  static absl::StatusOr<std::unique_ptr<SegmentReader>> Open(const RandomAccessSource* source);
  virtual ~SegmentReader() = default;

  virtual const v1::SegmentHeader& header() const = 0;
  virtual const v1::SegmentTrailer& trailer() const = 0;
  // The SHA-256 of every byte before the footer, as the footer holds it (checked by Open).
  virtual const std::string& digest() const = 0;
  // Next record into `*record`; false at the end. Errors name object and offset.
  virtual absl::StatusOr<bool> Next(v1::Record* record) = 0;
};

// Reads only the header and trailer (after the same checks as Open).
absl::StatusOr<v1::SegmentTrailer> ReadSegmentTrailer(const RandomAccessSource* source);

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_SEGMENT_READER_H_
