// Hand-built pgoutput protocol-2 messages for PgOutputDecoder's tests, one builder per
// message type (with the streamed-block xid where the layout differs), and a decoder that has
// just seen Stream Start.
#ifndef WALSHIP_TESTS_AGENT_PG_PGOUTPUT_DECODER_TEST_UTIL_H_
#define WALSHIP_TESTS_AGENT_PG_PGOUTPUT_DECODER_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "agent/pg/pgoutput_decoder.h"
#include "gtest/gtest.h"
#include "tests/testing/pgoutput_bytes.h"

namespace walship::agent {

using ::walship::testing::Bytes;

inline constexpr int64_t kPgEpochUs = 946684800000000;  // 2000-01-01 in Unix microseconds
inline constexpr uint32_t kStreamXid = 742;

template <typename T>
inline T DecodeAs(PgOutputDecoder& decoder, const std::string& bytes) {
  auto result = decoder.Decode(bytes);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*result)) << "variant index " << result->index();
  if (!std::holds_alternative<T>(*result)) return T{};
  return std::get<T>(*std::move(result));
}

inline std::string StreamStart(uint32_t xid = kStreamXid, uint8_t first = 1) {
  return Bytes().Char('S').U32(xid).U8(first);
}

// A decoder that has just seen Stream Start.
inline PgOutputDecoder StreamingDecoder() {
  PgOutputDecoder decoder;
  EXPECT_TRUE(decoder.Decode(StreamStart()).ok());
  EXPECT_TRUE(decoder.in_stream());
  return decoder;
}

// Adds the streamed-block xid after the type byte when `in_stream`.
inline Bytes Header(char type, bool in_stream) {
  Bytes b;
  b.Char(type);
  if (in_stream) b.U32(kStreamXid);
  return b;
}

inline std::string Begin() {
  return Bytes().Char('B').U64(0x16B3748).I64(1000000).U32(732);
}
inline std::string Commit(uint8_t flags = 0) {
  return Bytes().Char('C').U8(flags).U64(0x16B3748).U64(0x16B3780).I64(2000000);
}
inline std::string Origin() { return Bytes().Char('O').U64(0xABCDEF).Str("upstream"); }
inline std::string Relation(bool in_stream, char identity = 'd', uint8_t column_flags = 1) {
  return Header('R', in_stream)
      .U32(16395)
      .Str("public")
      .Str("crm")
      .Char(identity)
      .U16(3)
      .U8(column_flags).Str("id").U32(23).I32(-1)
      .U8(0).Str("score").U32(1700).I32(655366)
      .U8(0).Str("m").U32(16390).I32(-1);
}
inline std::string Type(bool in_stream) {
  return Header('Y', in_stream).U32(16390).Str("public").Str("mood");
}
inline std::string Insert(bool in_stream) {
  return Header('I', in_stream)
      .U32(16395)
      .Char('N')
      .U16(4)
      .Null()
      .Toast()
      .Text("alice")
      .Binary(std::string("\x00\x01\xff", 3));
}
inline std::string UpdateWithoutOld(bool in_stream) {
  return Header('U', in_stream).U32(16395).Char('N').U16(2).Text("1").Toast();
}
inline std::string UpdateWithOld(bool in_stream, char old_kind) {
  return Header('U', in_stream)
      .U32(16395)
      .Char(old_kind)
      .U16(2).Text("1").Null()
      .Char('N')
      .U16(2).Text("2").Text("bob");
}
inline std::string Delete(bool in_stream, char old_kind) {
  return Header('D', in_stream).U32(16395).Char(old_kind).U16(1).Text("7");
}
inline std::string Truncate(bool in_stream, uint8_t options) {
  return Header('T', in_stream).I32(2).U8(options).U32(16395).U32(16402);
}
inline std::string Message(bool in_stream, uint8_t flags) {
  return Header('M', in_stream).U8(flags).U64(0x1515B08).Str("walship").U32(5).Raw("hello");
}
inline std::string StreamStop() { return Bytes().Char('E'); }
inline std::string StreamCommit(uint8_t flags = 0) {
  return Bytes().Char('c').U32(kStreamXid).U8(flags).U64(0x1580DE0).U64(0x1580E58).I64(-1);
}
inline std::string StreamAbort() { return Bytes().Char('A').U32(kStreamXid).U32(747); }

}  // namespace walship::agent

#endif  // WALSHIP_TESTS_AGENT_PG_PGOUTPUT_DECODER_TEST_UTIL_H_
