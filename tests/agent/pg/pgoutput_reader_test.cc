// Tests for PgOutputReader: big-endian reads, strings, bounds and error offsets.
#include "agent/pg/pgoutput_reader.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

TEST(PgOutputReader, ReadsBigEndianIntegers) {
  const std::string data("\x01\x02\x03\xff\xff\xff\xfe\x80\x00\x00\x00\x00\x00\x00\x01", 15);
  PgOutputReader reader(data, "TEST");
  EXPECT_EQ(reader.ReadUint8("a").value(), 0x01);
  EXPECT_EQ(reader.ReadUint16("b").value(), 0x0203);
  EXPECT_EQ(reader.ReadInt32("c").value(), -2);
  EXPECT_EQ(reader.ReadUint64("d").value(), 0x8000000000000001ULL);
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_OK(reader.ExpectEnd());
}

TEST(PgOutputReader, ReadsSignedAndUnsignedViewsOfTheSameBytes) {
  const std::string data(12, '\xff');
  PgOutputReader reader(data, "TEST");
  EXPECT_EQ(reader.ReadUint32("a").value(), 0xFFFFFFFFu);
  EXPECT_EQ(reader.ReadInt64("b").value(), -1);
}

TEST(PgOutputReader, ReadsCStringsAndBytes) {
  const std::string data("ab\0\0xyz", 7);
  PgOutputReader reader(data, "TEST");
  EXPECT_EQ(reader.ReadCString("s").value(), "ab");
  EXPECT_EQ(reader.ReadCString("empty").value(), "");
  EXPECT_EQ(reader.ReadBytes(2, "raw").value(), "xy");
  EXPECT_EQ(reader.offset(), 6u);
  EXPECT_THAT(reader.ExpectEnd(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("malformed pgoutput TEST message at byte 6: 1 unexpected")));
}

TEST(PgOutputReader, ReportsTruncationWithFieldAndOffset) {
  const std::string data("\x00\x01\x02", 3);
  PgOutputReader reader(data, "INSERT");
  ASSERT_OK(reader.ReadUint8("type").status());
  EXPECT_THAT(reader.ReadUint32("relation oid"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("INSERT message at byte 1: truncated: relation oid needs 4 "
                                 "bytes, 2 left")));
  EXPECT_EQ(reader.offset(), 1u);  // a failed read does not advance
  EXPECT_THAT(reader.ReadBytes(3, "data"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(reader.ReadBytes(2, "data").value(), std::string("\x01\x02", 2));
}

TEST(PgOutputReader, RejectsUnterminatedString) {
  PgOutputReader reader("abc", "RELATION");
  EXPECT_THAT(reader.ReadCString("schema name"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("at byte 0: truncated: schema name has no terminating NUL")));
}

}  // namespace
}  // namespace walship::agent
