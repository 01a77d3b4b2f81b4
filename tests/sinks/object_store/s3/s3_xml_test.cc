// Parsing S3's XML responses, including malformed and hostile ones.
#include "sinks/object_store/s3/s3_xml.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks::s3 {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

constexpr char kPage[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a&amp;b.seg</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>123</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/c&#46;idx</Key><Size>18446744073709551615</Size></Contents>
  <NextContinuationToken>tok/en=</NextContinuationToken>
</ListBucketResult>)";

TEST(ParseListObjectsV2, Page) {
  ASSERT_OK_AND_ASSIGN(ListPage page, ParseListObjectsV2(kPage));
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "p/a&b.seg");
  EXPECT_EQ(page.objects[0].size, 123u);
  EXPECT_EQ(page.objects[1].key, "p/c.idx");
  EXPECT_EQ(page.objects[1].size, 18446744073709551615u);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_continuation_token, "tok/en=");
}

TEST(ParseListObjectsV2, EmptyAndLastPage) {
  ASSERT_OK_AND_ASSIGN(ListPage page,
                       ParseListObjectsV2("<ListBucketResult><KeyCount>0</KeyCount>"
                                          "<IsTruncated>false</IsTruncated></ListBucketResult>"));
  EXPECT_TRUE(page.objects.empty());
  EXPECT_FALSE(page.truncated);
  ASSERT_OK_AND_ASSIGN(page, ParseListObjectsV2("<ListBucketResult/>"));
  EXPECT_TRUE(page.objects.empty());
}

TEST(ParseListObjectsV2, MalformedInputIsDataLoss) {
  const char* bad[] = {
      "",
      "<Error><Code>InternalError</Code></Error>",
      "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",  // no Size
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",  // no Key
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><Contents><Key>k&bogus;</Key><Size>1</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><Contents><Key>k&#0;</Key><Size>1</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><Contents><Key>k&#x10FFFF;</Key><Size>1</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><Contents><Key>k&amp</Key><Size>1</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",  // no token
      "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
  };
  for (const char* xml : bad) {
    EXPECT_THAT(ParseListObjectsV2(xml), StatusIs(absl::StatusCode::kDataLoss)) << xml;
  }
}

TEST(ParseListObjectsV2, UnterminatedElementsDoNotCrash) {
  std::string page = kPage;
  // Every prefix of a valid page parses or fails cleanly.
  for (size_t n = 0; n < page.size(); ++n) {
    absl::StatusOr<ListPage> result = ParseListObjectsV2(page.substr(0, n));
    if (!result.ok()) {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(ParseListObjectsV2, BoundsKeysAndEntries) {
  std::string long_key = absl::StrCat("<ListBucketResult><Contents><Key>",
                                      std::string(kMaxKeyBytes + 1, 'k'),
                                      "</Key><Size>1</Size></Contents></ListBucketResult>");
  EXPECT_THAT(ParseListObjectsV2(long_key),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("longer than")));
  std::string many = "<ListBucketResult>";
  for (size_t i = 0; i <= kMaxListEntries; ++i) {
    absl::StrAppend(&many, "<Contents><Key>k", i, "</Key><Size>1</Size></Contents>");
  }
  many += "</ListBucketResult>";
  EXPECT_THAT(ParseListObjectsV2(many),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("more than")));
}

TEST(S3Xml, ErrorBodyUploadIdAndComplete) {
  S3ErrorBody error = ParseS3Error(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The bucket &lt;x&gt; "
      "does not exist</Message><BucketName>x</BucketName></Error>");
  EXPECT_EQ(error.code, "NoSuchBucket");
  EXPECT_EQ(error.message, "The bucket <x> does not exist");
  EXPECT_EQ(ParseS3Error("not xml").code, "");
  EXPECT_EQ(ParseS3Error("<Error><Code>\x01\x02</Code></Error>").code, "??");

  ASSERT_OK_AND_ASSIGN(std::string id,
                       ParseUploadId("<InitiateMultipartUploadResult><Bucket>b</Bucket>"
                                     "<UploadId>abc-123</UploadId>"
                                     "</InitiateMultipartUploadResult>"));
  EXPECT_EQ(id, "abc-123");
  EXPECT_THAT(ParseUploadId("<InitiateMultipartUploadResult/>"),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ParseUploadId("<UploadId></UploadId>"), StatusIs(absl::StatusCode::kDataLoss));

  EXPECT_EQ(CompleteMultipartBody({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;"
            "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
  // A tag that merely starts like another is not confused with it.
  EXPECT_EQ(XmlElementText("<KeyCount>3</KeyCount><Key>k</Key>", "Key").value_or("?"), "k");
}

}  // namespace
}  // namespace walship::sinks::s3
