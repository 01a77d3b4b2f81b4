// Tests for the envelope header and the stored-size arithmetic.
#include "sinks/object_store/encryption/envelope_format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks::envelope {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

Header MakeHeader(const std::string& key_id = "key-1", uint32_t chunk_size = kDefaultChunkSize) {
  Header header;
  header.key_id = key_id;
  for (size_t i = 0; i < kNonceBytes; ++i) header.base_nonce[i] = static_cast<uint8_t>(0xA0 + i);
  header.chunk_size = chunk_size;
  return header;
}

TEST(EnvelopeFormat, HeaderBytesAreAsDocumented) {
  std::string bytes = MakeHeader("ab", 0x00010000).Encode();
  std::string want(
      "WSHPENC\x01\x01\x02"
      "ab",
      12);
  for (size_t i = 0; i < kNonceBytes; ++i) want.push_back(static_cast<char>(0xA0 + i));
  want.append(std::string("\x00\x01\x00\x00", 4));
  EXPECT_EQ(bytes, want);
  EXPECT_EQ(bytes.size(), kFixedHeaderBytes + 2);
  EXPECT_EQ(kFixedHeaderBytes, 26u);
}

TEST(EnvelopeFormat, HeaderRoundTrips) {
  Header header = MakeHeader(std::string(64, 'z'), 4096);
  std::string bytes = header.Encode() + "trailing chunk bytes";
  ASSERT_OK_AND_ASSIGN(Header parsed, ParseHeader("k", bytes));
  EXPECT_EQ(parsed.key_id, header.key_id);
  EXPECT_EQ(parsed.base_nonce, header.base_nonce);
  EXPECT_EQ(parsed.chunk_size, 4096u);
}

TEST(EnvelopeFormat, RejectsPlainObjectsAndCorruptHeaders) {
  EXPECT_THAT(ParseHeader("a/b.seg", "WSHPSEG1 plain segment"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("object \"a/b.seg\" is not an encrypted object")));
  EXPECT_THAT(ParseHeader("k", ""),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not an encrypted object")));
  std::string good = MakeHeader().Encode();
  EXPECT_THAT(ParseHeader("k", good.substr(0, 5)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_THAT(ParseHeader("k", good.substr(0, good.size() - 1)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  std::string version = good;
  version[8] = 2;
  EXPECT_THAT(ParseHeader("k", version),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("envelope version 2")));
  std::string no_id = good;
  no_id[9] = 0;
  EXPECT_THAT(ParseHeader("k", no_id),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("invalid key id")));
  std::string bad_id = good;
  bad_id[10] = '/';
  EXPECT_THAT(ParseHeader("k", bad_id),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("invalid key id")));
  EXPECT_THAT(ParseHeader("k", MakeHeader("k", 0).Encode()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("chunk size 0")));
  EXPECT_THAT(ParseHeader("k", MakeHeader("k", kMaxChunkSize + 1).Encode()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("chunk size")));
}

TEST(EnvelopeFormat, ChunkNonceXorsIndexAndFinalBitIntoTheLastEightBytes) {
  Nonce base{};
  base[0] = 0x11;
  base[11] = 0x0F;
  Nonce n = ChunkNonce(base, 0x0102, false);
  EXPECT_EQ(n[0], 0x11);
  EXPECT_EQ(n[3], 0x00);
  EXPECT_EQ(n[4], 0x00);
  EXPECT_EQ(n[10], 0x01);
  EXPECT_EQ(n[11], 0x0F ^ 0x02);
  Nonce f = ChunkNonce(base, 0x0102, true);
  EXPECT_EQ(f[4], 0x80);
  EXPECT_EQ(f[11], n[11]);
  EXPECT_NE(ChunkNonce(base, 0, true), ChunkNonce(base, 0, false));
}

TEST(EnvelopeFormat, LayoutInvertsStoredSize) {
  Header header = MakeHeader("id", 100);
  for (uint64_t plain : {0, 1, 99, 100, 101, 199, 200, 201, 1000, 12345}) {
    uint64_t stored = StoredSize(header, plain);
    ASSERT_OK_AND_ASSIGN(Layout layout, LayoutFromStoredSize("k", header, stored));
    EXPECT_EQ(layout.plaintext_size, plain) << plain;
    uint64_t chunks = plain == 0 ? 1 : (plain + 99) / 100;
    EXPECT_EQ(layout.chunk_count, chunks) << plain;
    EXPECT_EQ(layout.StoredChunkOffset(layout.chunk_count - 1) +
                  layout.PlainChunkSize(layout.chunk_count - 1) + kTagBytes,
              stored)
        << plain;
  }
}

TEST(EnvelopeFormat, LayoutRejectsSizesCutInsideATag) {
  Header header = MakeHeader("id", 100);
  uint64_t h = header.EncodedSize();
  EXPECT_THAT(LayoutFromStoredSize("k", header, h),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_THAT(LayoutFromStoredSize("k", header, h + kTagBytes - 1),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  // One full stored chunk plus a few bytes: the second chunk cannot hold its tag.
  EXPECT_THAT(LayoutFromStoredSize("k", header, h + 100 + kTagBytes + 5),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
}

}  // namespace
}  // namespace walship::sinks::envelope
