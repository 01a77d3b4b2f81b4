// Builds pgoutput messages byte by byte for decoder tests: big-endian integers,
// NUL-terminated strings, raw bytes.
#ifndef WALSHIP_TESTS_TESTING_PGOUTPUT_BYTES_H_
#define WALSHIP_TESTS_TESTING_PGOUTPUT_BYTES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace walship::testing {

class Bytes {
 public:
  Bytes& U8(uint8_t v) {
    data_.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& Char(char c) { return U8(static_cast<uint8_t>(c)); }
  Bytes& U16(uint16_t v) { return BigEndian(v, 2); }
  Bytes& U32(uint32_t v) { return BigEndian(v, 4); }
  Bytes& I32(int32_t v) { return BigEndian(static_cast<uint32_t>(v), 4); }
  Bytes& U64(uint64_t v) { return BigEndian(v, 8); }
  Bytes& I64(int64_t v) { return BigEndian(static_cast<uint64_t>(v), 8); }
  Bytes& Str(absl::string_view s) {
    Raw(s);
    return U8(0);
  }
  Bytes& Raw(absl::string_view s) {
    data_.append(s.data(), s.size());
    return *this;
  }
  // TupleData column helpers.
  Bytes& Null() { return Char('n'); }
  Bytes& Toast() { return Char('u'); }
  Bytes& Text(absl::string_view s) { return Char('t').U32(s.size()).Raw(s); }
  Bytes& Binary(absl::string_view s) { return Char('b').U32(s.size()).Raw(s); }

  const std::string& str() const { return data_; }
  operator std::string() const { return data_; }         // NOLINT: builder convenience
  operator absl::string_view() const { return data_; }  // NOLINT: valid while *this is

 private:
  Bytes& BigEndian(uint64_t v, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
      data_.push_back(static_cast<char>((v >> shift) & 0xFF));
    }
    return *this;
  }

  std::string data_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_PGOUTPUT_BYTES_H_
