// Base snapshot object keys: construction, name encoding, parsing.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/layout.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

const StreamId kStream{"7300000000000000001", "walship"};

TEST(BaseLayoutTest, Keys) {
  EXPECT_EQ(BaseDirKey(kStream, Lsn(0x16B3748)),
            "7300000000000000001/walship/base/00000000016B3748/");
  EXPECT_EQ(BaseManifestKey(kStream, Lsn(0x16B3748)),
            "7300000000000000001/walship/base/00000000016B3748/manifest.pb");
  EXPECT_EQ(BaseSegmentKey(kStream, Lsn(0x16B3748), "public", "deals", 3),
            "7300000000000000001/walship/base/00000000016B3748/public.deals.3.seg");
}

TEST(BaseLayoutTest, EncodesAnyNameIntoAValidKey) {
  for (const char* name : {"Deal Stage", "a.b", "x-y", "ü", "semi;colon", "/slash", "_ok_9"}) {
    std::string key = BaseSegmentKey(kStream, Lsn(1), name, name, 0);
    EXPECT_TRUE(ValidateObjectKey(key).ok()) << key;
    auto parsed = ParseBaseSegmentKey(key);
    ASSERT_TRUE(parsed.has_value()) << key;
    EXPECT_EQ(parsed->schema, name);
    EXPECT_EQ(parsed->table, name);
    EXPECT_EQ(parsed->n, 0u);
  }
  EXPECT_EQ(EncodeKeyName("Deal Stage"), "Deal-20Stage");
  EXPECT_EQ(EncodeKeyName("a.b-c"), "a-2Eb-2Dc");
}

TEST(BaseLayoutTest, ParsesBaseKeys) {
  auto parsed = ParseBaseKey(BaseManifestKey(kStream, Lsn(0xABC)));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->snapshot_lsn, Lsn(0xABC));
  EXPECT_EQ(parsed->file, "manifest.pb");
  parsed = ParseBaseKey(BaseSegmentKey(kStream, Lsn(7), "s", "t", 12));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->file, "s.t.12.seg");
  auto segment = ParseBaseSegmentKey(parsed->file);
  ASSERT_TRUE(segment.has_value());
  EXPECT_EQ(segment->n, 12u);
}

TEST(BaseLayoutTest, RejectsForeignKeys) {
  EXPECT_FALSE(ParseBaseKey("x/walship/base/0000000000000ABC").has_value());
  EXPECT_FALSE(ParseBaseKey("x/walship/base/ABC/manifest.pb").has_value());
  EXPECT_FALSE(ParseBaseKey("x/walship/base/0000000000000abc/manifest.pb").has_value());
  EXPECT_FALSE(ParseBaseKey("x/walship/rebase/0000000000000ABC/manifest.pb").has_value());
  EXPECT_FALSE(ParseBaseKey("x/walship/base/0000000000000ABC/sub/manifest.pb").has_value());
  EXPECT_FALSE(ParseBaseSegmentKey("public.deals.seg").has_value());
  EXPECT_FALSE(ParseBaseSegmentKey("public.deals.x.seg").has_value());
  EXPECT_FALSE(ParseBaseSegmentKey("a.b.c.0.seg").has_value());
  EXPECT_FALSE(ParseBaseSegmentKey("pub-ZZlic.deals.0.seg").has_value());
  EXPECT_FALSE(ParseBaseSegmentKey("pub-2.deals.0.seg").has_value());
  EXPECT_FALSE(ParseBaseSegmentKey("public.deals.0.idx").has_value());
}

}  // namespace
}  // namespace walship::sinks
