// A minimal blocking HTTP/1.1 client over libcurl for the S3 store: one request in, one
// response out. Connections are kept alive in a small pool of curl easy handles.
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_HTTP_CLIENT_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_HTTP_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace walship::sinks::s3 {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // absolute, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  absl::string_view body;  // not owned: must stay valid during Execute()
  // Whole-request limit; a transfer that moves no byte for min(timeout, 30 s) is cut too.
  absl::Duration timeout = absl::Seconds(120);
  // A longer response body is an error (protects against a hostile or broken server).
  uint64_t max_response_bytes = uint64_t{1} << 20;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  // The first header named `name` (lowercase), or "".
  std::string Header(absl::string_view name) const;
};

// Thread-safe. Transport failures (refused, reset, timed out, TLS) are kUnavailable naming
// the URL's host; an HTTP error status is not a failure here (see HttpResponse::status).
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual absl::StatusOr<HttpResponse> Execute(const HttpRequest& request) = 0;
};

// TLS certificates are verified unless `tls_verify` is false, against the PEM file
// `ca_bundle` when it is not empty (else the system's CA store).
std::unique_ptr<HttpClient> NewCurlHttpClient(bool tls_verify, std::string ca_bundle = "");

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_HTTP_CLIENT_H_
