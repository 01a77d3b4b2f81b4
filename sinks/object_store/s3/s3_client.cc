// Signing and retrying S3 requests.
#include "sinks/object_store/s3/s3_client.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/s3/s3_xml.h"

namespace walship::sinks::s3 {
namespace {

bool Retryable(const HttpResponse& response) {
  if (response.status >= 500 || response.status == 429 || response.status == 408) return true;
  if (response.status == 400 || response.status == 403) {
    // Throttling and clock problems come as 400/403 with these codes.
    std::string code = ParseS3Error(response.body).code;
    return code == "RequestTimeout" || code == "Throttling" || code == "ThrottlingException" ||
           code == "SlowDown" || code == "RequestTimeTooSkewed";
  }
  return false;
}

// The walship_retries_total kind of a retryable response.
absl::string_view RetryKind(const HttpResponse& response) {
  if (response.status == 503 || response.status == 429) return "throttled";
  if (response.status >= 500) return "server_error";
  std::string code = ParseS3Error(response.body).code;
  if (code == "Throttling" || code == "ThrottlingException" || code == "SlowDown") {
    return "throttled";
  }
  return "other";
}

std::string Describe(const HttpResponse& response) {
  S3ErrorBody error = ParseS3Error(response.body);
  if (error.code.empty()) return absl::StrCat("HTTP ", response.status);
  if (error.message.empty()) return absl::StrCat("HTTP ", response.status, " ", error.code);
  return absl::StrCat("HTTP ", response.status, " ", error.code, ": ", error.message);
}

}  // namespace

S3Client::S3Client(S3Location location, AwsCredentials credentials, S3Options options,
                   std::unique_ptr<HttpClient> http)
    : location_(std::move(location)),
      signer_(std::move(credentials), location_.region, "s3"),
      options_(std::move(options)),
      http_(std::move(http)) {}

absl::StatusOr<HttpResponse> S3Client::SendOnce(const S3Request& request) const {
  std::string path = location_.PathFor(request.full_key);
  if (request.full_key.empty() && location_.path_style) path = absl::StrCat("/", location_.bucket);
  std::string amz_date = AmzDate(options_.clock->Now());
  SigV4Request to_sign;
  to_sign.method = request.method;
  to_sign.canonical_uri = path;
  to_sign.query = request.query;
  to_sign.payload_hash = Sha256Hex(request.body);
  to_sign.headers = {{"host", location_.Host()},
                     {"x-amz-content-sha256", to_sign.payload_hash},
                     {"x-amz-date", amz_date}};
  const AwsCredentials& credentials = signer_.credentials();
  if (!credentials.session_token.empty()) {
    to_sign.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  for (const auto& header : request.headers) to_sign.headers.push_back(header);
  SigV4Signature signature = signer_.Sign(to_sign, amz_date);

  HttpRequest http;
  http.method = request.method;
  http.url = absl::StrCat(location_.scheme, "://", location_.Host(), path);
  std::string query = CanonicalQueryString(request.query);
  if (!query.empty()) absl::StrAppend(&http.url, "?", query);
  http.headers = to_sign.headers;
  http.headers.emplace_back("authorization", signature.authorization);
  http.body = request.body;
  http.timeout = options_.request_timeout;
  http.max_response_bytes = request.max_response_bytes;
  return http_->Execute(http);
}

absl::Duration S3Client::Backoff(int attempt) const {
  // Full jitter: uniform in [0, min(max, initial * 2^attempt)].
  absl::Duration cap = options_.initial_backoff * (int64_t{1} << std::min(attempt, 20));
  cap = std::min(cap, options_.max_backoff);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  return cap * uniform(rng);
}

absl::StatusOr<HttpResponse> S3Client::Send(const S3Request& request,
                                            absl::string_view what) const {
  int attempts = location_.max_attempts > 0 ? location_.max_attempts : options_.max_attempts;
  attempts = std::max(attempts, 1);
  std::string last_error;
  absl::string_view last_kind;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      options_.retry_probe->OnRetry(url(), last_kind);
      absl::Duration delay = Backoff(attempt - 1);
      LogWarning("s3: %s in %s failed (attempt %d of %d): %s; retrying in %s", what, url(), attempt,
                 attempts, last_error, absl::FormatDuration(delay));
      options_.clock->SleepFor(delay);
    }
    absl::StatusOr<HttpResponse> response = SendOnce(request);
    if (!response.ok() && response.status().code() == absl::StatusCode::kFailedPrecondition) {
      // An untrusted certificate is not retried: it will not change by itself.
      return Annotate(response.status(), absl::StrFormat("%s in %s", what, url()));
    }
    if (!response.ok()) {
      last_error = std::string(response.status().message());
      last_kind = "transport";
      continue;
    }
    if (!Retryable(*response)) return response;
    last_error = Describe(*response);
    last_kind = RetryKind(*response);
  }
  return absl::UnavailableError(
      absl::StrFormat("%s in %s failed after %d attempts: %s", what, url(), attempts, last_error));
}

absl::Status S3Client::ErrorFor(const HttpResponse& response, absl::string_view what) const {
  S3ErrorBody error = ParseS3Error(response.body);
  std::string detail = Describe(response);
  if (response.status == 403) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s: access to bucket \"%s\" at %s://%s denied (%s); check AWS_ACCESS_KEY_ID/"
        "AWS_SECRET_ACCESS_KEY (or the credentials file profile) and the bucket policy",
        what, location_.bucket, location_.scheme, location_.endpoint_host, detail));
  }
  if (error.code == "NoSuchBucket") {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: bucket \"%s\" does not exist at %s://%s; create it or fix the object store URL", what,
        location_.bucket, location_.scheme, location_.endpoint_host));
  }
  if (response.status == 404) {
    return absl::NotFoundError(absl::StrFormat("%s in %s: not found (%s)", what, url(), detail));
  }
  if (response.status >= 400 && response.status < 500) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s in %s: refused (%s)", what, url(), detail));
  }
  return absl::UnavailableError(
      absl::StrFormat("%s in %s: unexpected response (%s)", what, url(), detail));
}

}  // namespace walship::sinks::s3
