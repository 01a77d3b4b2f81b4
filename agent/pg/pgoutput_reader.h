// A bounds-checked big-endian reader over one pgoutput message, used by the decoder.
// Every failure is kDataLoss naming the message type and the byte offset of the field that
// could not be read, e.g. "malformed pgoutput UPDATE message at byte 5: ...".
//
// Not thread-safe; borrows `data`, which must outlive the reader and every string_view
// the reader returns.
#ifndef WALSHIP_AGENT_PG_PGOUTPUT_READER_H_
#define WALSHIP_AGENT_PG_PGOUTPUT_READER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::agent {

class PgOutputReader {
 public:
  // `type_name` is what errors call the message ("UPDATE"); it must outlive the reader.
  PgOutputReader(absl::string_view data, absl::string_view type_name)
      : data_(data), type_name_(type_name) {}

  // Each reads one field (named in errors by `field`) and advances past it.
  absl::StatusOr<uint8_t> ReadUint8(absl::string_view field);
  absl::StatusOr<uint16_t> ReadUint16(absl::string_view field);
  absl::StatusOr<uint32_t> ReadUint32(absl::string_view field);
  absl::StatusOr<int32_t> ReadInt32(absl::string_view field);
  absl::StatusOr<uint64_t> ReadUint64(absl::string_view field);
  absl::StatusOr<int64_t> ReadInt64(absl::string_view field);
  // A NUL-terminated string; the returned view excludes the NUL.
  absl::StatusOr<absl::string_view> ReadCString(absl::string_view field);
  // Exactly `length` raw bytes.
  absl::StatusOr<absl::string_view> ReadBytes(size_t length, absl::string_view field);

  // kDataLoss unless every byte has been read.
  absl::Status ExpectEnd() const;

  // kDataLoss at the current offset (or at `offset`) with `what` as the reason.
  absl::Status Error(absl::string_view what) const { return ErrorAt(offset_, what); }
  absl::Status ErrorAt(size_t offset, absl::string_view what) const;

  size_t offset() const { return offset_; }
  size_t remaining() const { return data_.size() - offset_; }

 private:
  absl::StatusOr<uint64_t> ReadBigEndian(size_t width, absl::string_view field);

  absl::string_view data_;
  absl::string_view type_name_;
  size_t offset_ = 0;
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_PG_PGOUTPUT_READER_H_
