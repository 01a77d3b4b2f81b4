// Wire-level field replacement.
#include "sinks/kafka/wire_fields.h"

#include <cstdint>

namespace walship::sinks::kafka {
namespace {

// Reads a varint at `*pos` of `bytes`; false past the end or when longer than 10 bytes.
bool ReadVarint(absl::string_view bytes, size_t* pos, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *pos < bytes.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(bytes[(*pos)++]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

bool ReplaceField(int number, absl::string_view field, std::string* bytes) {
  size_t pos = 0, start = 0, end = 0;
  bool found = false;
  while (pos < bytes->size()) {
    const size_t at = pos;
    uint64_t tag = 0, value = 0;
    if (!ReadVarint(*bytes, &pos, &tag)) return false;
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(*bytes, &pos, &value)) return false;
        break;
      case 1:
        pos += 8;
        break;
      case 2:
        if (!ReadVarint(*bytes, &pos, &value) || value > bytes->size() - pos) return false;
        pos += value;
        break;
      case 5:
        pos += 4;
        break;
      default:
        return false;
    }
    if (pos > bytes->size()) return false;
    if (static_cast<int>(tag >> 3) == number) {
      if (found || (tag & 7) != 2) return false;
      found = true;
      start = at;
      end = pos;
    }
  }
  if (!found) return false;
  bytes->replace(start, end - start, field.data(), field.size());
  return true;
}

}  // namespace walship::sinks::kafka
