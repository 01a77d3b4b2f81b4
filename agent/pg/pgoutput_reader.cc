// Bounds-checked big-endian field reads for the pgoutput decoder.
#include "agent/pg/pgoutput_reader.h"

#include "absl/strings/str_format.h"

namespace walship::agent {

absl::Status PgOutputReader::ErrorAt(size_t offset, absl::string_view what) const {
  return absl::DataLossError(absl::StrFormat("malformed pgoutput %s message at byte %d: %s",
                                             type_name_, offset, what));
}

absl::StatusOr<uint64_t> PgOutputReader::ReadBigEndian(size_t width,
                                                      absl::string_view field) {
  if (remaining() < width) {
    return Error(absl::StrFormat("truncated: %s needs %d bytes, %d left", field, width,
                                 remaining()));
  }
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<uint8_t>(data_[offset_ + i]);
  }
  offset_ += width;
  return value;
}

absl::StatusOr<uint8_t> PgOutputReader::ReadUint8(absl::string_view field) {
  auto value = ReadBigEndian(1, field);
  if (!value.ok()) return value.status();
  return static_cast<uint8_t>(*value);
}

absl::StatusOr<uint16_t> PgOutputReader::ReadUint16(absl::string_view field) {
  auto value = ReadBigEndian(2, field);
  if (!value.ok()) return value.status();
  return static_cast<uint16_t>(*value);
}

absl::StatusOr<uint32_t> PgOutputReader::ReadUint32(absl::string_view field) {
  auto value = ReadBigEndian(4, field);
  if (!value.ok()) return value.status();
  return static_cast<uint32_t>(*value);
}

absl::StatusOr<int32_t> PgOutputReader::ReadInt32(absl::string_view field) {
  auto value = ReadBigEndian(4, field);
  if (!value.ok()) return value.status();
  return static_cast<int32_t>(static_cast<uint32_t>(*value));
}

absl::StatusOr<uint64_t> PgOutputReader::ReadUint64(absl::string_view field) {
  return ReadBigEndian(8, field);
}

absl::StatusOr<int64_t> PgOutputReader::ReadInt64(absl::string_view field) {
  auto value = ReadBigEndian(8, field);
  if (!value.ok()) return value.status();
  return static_cast<int64_t>(*value);
}

absl::StatusOr<absl::string_view> PgOutputReader::ReadCString(absl::string_view field) {
  const size_t nul = data_.find('\0', offset_);
  if (nul == absl::string_view::npos) {
    return Error(absl::StrFormat("truncated: %s has no terminating NUL", field));
  }
  absl::string_view value = data_.substr(offset_, nul - offset_);
  offset_ = nul + 1;
  return value;
}

absl::StatusOr<absl::string_view> PgOutputReader::ReadBytes(size_t length,
                                                            absl::string_view field) {
  if (remaining() < length) {
    return Error(absl::StrFormat("truncated: %s needs %d bytes, %d left", field, length,
                                 remaining()));
  }
  absl::string_view value = data_.substr(offset_, length);
  offset_ += length;
  return value;
}

absl::Status PgOutputReader::ExpectEnd() const {
  if (remaining() == 0) return absl::OkStatus();
  return Error(absl::StrFormat("%d unexpected trailing bytes", remaining()));
}

}  // namespace walship::agent
