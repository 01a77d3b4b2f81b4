// AWS Signature Version 4 for S3 requests (header-based, as in the AWS "Signature Version 4
// signing process" documentation), built on OpenSSL's SHA-256 and HMAC. We sign ourselves
// because libcurl's CURLOPT_AWS_SIGV4 neither sorts query parameters nor writes "uploads="
// for "?uploads", and sends no x-amz-content-sha256.
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_SIGV4_SIGNER_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_SIGV4_SIGNER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sinks/object_store/s3/aws_credentials.h"

namespace walship::sinks::s3 {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Lowercase hex of SHA-256(data).
std::string Sha256Hex(absl::string_view data);
// Raw 32-byte HMAC-SHA256(key, data).
std::string HmacSha256(absl::string_view key, absl::string_view data);
// Raw 16-byte MD5(data), and its base64 (the Content-MD5 header value).
std::string Md5Digest(absl::string_view data);
std::string Md5Base64(absl::string_view data);
std::string HexEncode(absl::string_view bytes);
std::string Base64Encode(absl::string_view bytes);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~)
// stay, everything else becomes %XX (uppercase); '/' stays unless `encode_slash`.
std::string UriEncode(absl::string_view text, bool encode_slash);

// The canonical query string: each name and value UriEncode()d (slashes too), sorted by
// name then value, joined as "a=1&b=&c=3" (an empty value still gets its '=').
std::string CanonicalQueryString(const KeyValues& query);

// "20150830T123600Z"
std::string AmzDate(absl::Time time);

// What is signed. Everything is given as it goes on the wire.
struct SigV4Request {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // the URI-encoded path, e.g. "/bucket/a/b.seg"
  KeyValues query;            // raw (not encoded) names and values, any order
  KeyValues headers;          // every header to sign, names in any case (host included)
  std::string payload_hash;   // hex SHA-256 of the body (or "UNSIGNED-PAYLOAD")
};

// Intermediate results too, so tests can compare each step with AWS's published examples.
struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-content-sha256;x-amz-date"
  std::string signature;       // lowercase hex
  std::string authorization;   // the Authorization header value
};

// Immutable after construction; thread-safe. Holds the secret: never log it.
class SigV4Signer {
 public:
  SigV4Signer(AwsCredentials credentials, std::string region, std::string service);

  // `amz_date` is the request's x-amz-date header value ("YYYYMMDDTHHMMSSZ"), which the
  // caller must also include in request.headers.
  SigV4Signature Sign(const SigV4Request& request, absl::string_view amz_date) const;

  const AwsCredentials& credentials() const { return credentials_; }
  const std::string& region() const { return region_; }

 private:
  const AwsCredentials credentials_;
  const std::string region_;
  const std::string service_;
};

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_SIGV4_SIGNER_H_
