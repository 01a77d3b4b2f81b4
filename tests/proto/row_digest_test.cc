// RowDigest: the definition in walship.proto (checked against known MD5 values and the
// tests' independent witness), order independence, multisets, merging and hex round trips.
#include "proto/row_digest.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/row_digest_witness.h"

namespace walship::proto {
namespace {

TEST(RowDigestTest, NoRowIsThirtyTwoZeros) {
  RowDigest digest;
  EXPECT_EQ(digest.Hex(), std::string(32, '0'));
  EXPECT_EQ(digest.rows(), 0u);
}

TEST(RowDigestTest, OneRowIsItsMd5AndTheNewlineIsNotPartOfIt) {
  RowDigest digest;
  digest.Add("a\n");  // md5("a") = 0cc175b9c0f1b6a831c399e269772661
  EXPECT_EQ(digest.Hex(), "0cc175b9c0f1b6a831c399e269772661");
  RowDigest bare;
  bare.Add("a");
  EXPECT_EQ(bare, digest);
}

TEST(RowDigestTest, HalvesAddModuloTwoToTheSixtyFour) {
  RowDigest digest;
  digest.Add("a");
  digest.Add("b");  // md5("b") = 92eb5ffee6ae2fec3ad71c777531578f
  // 0x0cc175b9c0f1b6a8 + 0x92eb5ffee6ae2fec, 0x31c399e269772661 + 0x3ad71c777531578f
  EXPECT_EQ(digest.Hex(), "9facd5b8a79fe6946c9ab659dea87df0");
  EXPECT_EQ(digest.Hex(), testing::WitnessRowDigest({"a", "b"}));
}

TEST(RowDigestTest, OrderDoesNotMatterButRepeatsDo) {
  std::vector<std::string> rows = {"1\tann\t\\N", "2\tbob\t{1,2}", "3\t\t\\\\x00", ""};
  RowDigest forward, backward, twice;
  for (const std::string& row : rows) forward.Add(row);
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) backward.Add(*it);
  EXPECT_EQ(forward, backward);
  EXPECT_EQ(forward.Hex(), testing::WitnessRowDigest(rows));
  twice = forward;
  twice.Add(rows[0]);
  EXPECT_NE(twice.Hex(), forward.Hex());
  RowDigest once_less;
  for (size_t i = 1; i < rows.size(); ++i) once_less.Add(rows[i]);
  EXPECT_NE(once_less.Hex(), forward.Hex());
}

TEST(RowDigestTest, PartsMergeIntoTheWhole) {
  RowDigest whole, first, second;
  std::string lines;
  for (int i = 0; i < 1000; ++i) {
    std::string row = "row " + std::to_string(i);
    whole.Add(row);
    (i % 3 == 0 ? first : second).Add(row);
    lines += row + "\n";
  }
  first.Merge(second);
  EXPECT_EQ(first, whole);
  RowDigest from_lines;
  from_lines.AddLines(lines);
  EXPECT_EQ(from_lines, whole);
  EXPECT_EQ(whole.rows(), 1000u);
}

TEST(RowDigestTest, HexRoundTripsAndRefusesAnythingElse) {
  RowDigest digest;
  digest.Add("x");
  std::optional<RowDigest> back = RowDigest::FromHex(digest.Hex(), 1);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, digest);
  EXPECT_FALSE(RowDigest::FromHex("", 0).has_value());
  EXPECT_FALSE(RowDigest::FromHex("0000000000000000000000000000000", 0).has_value());
  EXPECT_FALSE(RowDigest::FromHex("000000000000000000000000000000g0", 0).has_value());
  EXPECT_FALSE(RowDigest::FromHex("d41d8cd98f00b204e9800998ecf8427e0", 0).has_value());
}

}  // namespace
}  // namespace walship::proto
