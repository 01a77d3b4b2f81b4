// The SigV4 signer against AWS's published examples: the Signature Version 4 test suite
// (credentials AKIDEXAMPLE, service "service") and the S3 header-based-auth examples
// (examplebucket, 20130524).
#include "sinks/object_store/s3/sigv4_signer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::sinks::s3 {
namespace {

constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kSuiteDate[] = "20150830T123600Z";
constexpr char kS3Secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kS3Date[] = "20130524T000000Z";
constexpr char kEmptyHash[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SigV4Signer SuiteSigner() {
  return SigV4Signer(AwsCredentials{"AKIDEXAMPLE", kSuiteSecret, ""}, "us-east-1", "service");
}
SigV4Signer S3Signer() {
  return SigV4Signer(AwsCredentials{"AKIAIOSFODNN7EXAMPLE", kS3Secret, ""}, "us-east-1", "s3");
}

TEST(SigV4Suite, GetVanilla) {
  SigV4Request request{"GET", "/", {},
                       {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}},
                       Sha256Hex("")};
  SigV4Signature s = SuiteSigner().Sign(request, kSuiteDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" + std::string(kEmptyHash));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(s.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Suite, GetVanillaQueryOrderKeyCase) {
  SigV4Request request{"GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}},
                       {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}},
                       Sha256Hex("")};
  SigV4Signature s = SuiteSigner().Sign(request, kSuiteDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + std::string(kEmptyHash));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  EXPECT_EQ(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Suite, PostXWwwFormUrlencoded) {
  SigV4Request request{"POST", "/", {},
                       {{"Content-Type", "application/x-www-form-urlencoded"},
                        {"Host", "example.amazonaws.com"},
                        {"X-Amz-Date", kSuiteDate}},
                       Sha256Hex("Param1=value1")};
  EXPECT_EQ(request.payload_hash,
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  SigV4Signature s = SuiteSigner().Sign(request, kSuiteDate);
  EXPECT_EQ(s.signed_headers, "content-type;host;x-amz-date");
  EXPECT_EQ(s.signature, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4Suite, WrongSecretChangesTheSignature) {
  SigV4Request request{"GET", "/", {},
                       {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}},
                       Sha256Hex("")};
  SigV4Signer wrong(AwsCredentials{"AKIDEXAMPLE", "not-the-secret", ""}, "us-east-1", "service");
  EXPECT_NE(wrong.Sign(request, kSuiteDate).signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4S3Examples, GetObjectWithRange) {
  SigV4Request request{"GET", "/test.txt", {},
                       {{"Host", "examplebucket.s3.amazonaws.com"},
                        {"Range", "bytes=0-9"},
                        {"x-amz-content-sha256", kEmptyHash},
                        {"x-amz-date", kS3Date}},
                       kEmptyHash};
  SigV4Signature s = S3Signer().Sign(request, kS3Date);
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" + std::string(kEmptyHash) +
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" +
            kEmptyHash);
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3Examples, ListObjectsSortsQuery) {
  SigV4Request request{"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}},
                       {{"Host", "examplebucket.s3.amazonaws.com"},
                        {"x-amz-content-sha256", kEmptyHash},
                        {"x-amz-date", kS3Date}},
                       kEmptyHash};
  SigV4Signature s = S3Signer().Sign(request, kS3Date);
  EXPECT_THAT(s.canonical_request, ::testing::HasSubstr("\nmax-keys=2&prefix=J\n"));
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// "?lifecycle" has an empty value: the canonical form is "lifecycle=" (as for "?uploads").
TEST(SigV4S3Examples, EmptyValuedQueryParameter) {
  SigV4Request request{"GET", "/", {{"lifecycle", ""}},
                       {{"Host", "examplebucket.s3.amazonaws.com"},
                        {"x-amz-content-sha256", kEmptyHash},
                        {"x-amz-date", kS3Date}},
                       kEmptyHash};
  SigV4Signature s = S3Signer().Sign(request, kS3Date);
  EXPECT_THAT(s.canonical_request, ::testing::HasSubstr("\nlifecycle=\n"));
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Encoding, UriEncodeAndCanonicalQuery) {
  EXPECT_EQ(UriEncode("a b/c~d_e-f.g*h", false), "a%20b/c~d_e-f.g%2Ah");
  EXPECT_EQ(UriEncode("a/b=c&d", true), "a%2Fb%3Dc%26d");
  EXPECT_EQ(CanonicalQueryString({{"uploadId", "x/y"}, {"partNumber", "10"}, {"uploads", ""}}),
            "partNumber=10&uploadId=x%2Fy&uploads=");
}

TEST(SigV4Encoding, HeaderValuesAreTrimmedAndCollapsed) {
  SigV4Request request{"GET", "/", {},
                       {{"Host", "h"}, {"My-Header", "  a   b  "}, {"x-amz-date", kS3Date}},
                       kEmptyHash};
  SigV4Signature s = S3Signer().Sign(request, kS3Date);
  EXPECT_THAT(s.canonical_request, ::testing::HasSubstr("\nmy-header:a b\n"));
}

TEST(SigV4Hashes, Md5AndDate) {
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(HexEncode(Md5Digest("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(AmzDate(absl::FromUnixSeconds(1440938160)), "20150830T123600Z");
}

}  // namespace
}  // namespace walship::sinks::s3
