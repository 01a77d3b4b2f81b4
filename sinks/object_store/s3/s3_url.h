// Parsing "s3://BUCKET/PREFIX?endpoint=URL&region=R&addressing=path|virtual" into where
// requests go. Parameters fall back to AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION,
// AWS_DEFAULT_REGION; the region defaults to us-east-1 and the endpoint to AWS's
// "https://s3.REGION.amazonaws.com". Addressing defaults to path-style when the endpoint
// host is an IP address or "localhost", virtual-host otherwise.
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_S3_URL_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_S3_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sinks/object_store/s3/aws_credentials.h"

namespace walship::sinks::s3 {

struct S3Location {
  std::string bucket;
  std::string prefix;         // "" or a valid object key without trailing '/'
  std::string scheme;         // "http" or "https"
  std::string endpoint_host;  // "host" or "host:port" of the endpoint (no bucket)
  std::string region;
  bool path_style = true;
  bool tls_verify = true;     // false only with an explicit "tls_verify=false"
  int max_attempts = 0;       // 0: the store's default; else from "max_attempts=N"

  // Plain http:// to an endpoint off this machine: requests (signed, but readable, with
  // every object's bytes) cross the network in clear. Opening such a store warns.
  bool InsecureRemote() const;
  // The Host header: endpoint_host, or "BUCKET.endpoint_host" for virtual-host style.
  std::string Host() const;
  // The encoded request path for `full_key` (prefix already applied): "/BUCKET/KEY" or "/KEY".
  std::string PathFor(absl::string_view full_key) const;
  // "s3://BUCKET/PREFIX?endpoint=...&region=...&addressing=..." (never holds secrets).
  std::string ToUrl() const;
  // `key` with the prefix put before it: "PREFIX/key", or `key` when there is no prefix.
  std::string FullKey(absl::string_view key) const;
};

// kInvalidArgument for a malformed URL, an unknown parameter, a bad bucket name or prefix.
absl::StatusOr<S3Location> ParseS3Url(absl::string_view url, const EnvLookup& env);

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_S3_URL_H_
