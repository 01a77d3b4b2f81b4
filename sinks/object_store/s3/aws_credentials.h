// AWS credentials for the S3 store, from the standard places and never from the command
// line: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the shared
// credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), profile AWS_PROFILE
// or "default". Secrets never appear in a Status message or a log line.
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_AWS_CREDENTIALS_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_AWS_CREDENTIALS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::sinks::s3 {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when none
};

// Looks up an environment variable; nullopt when unset. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(absl::string_view name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();

// Parses an INI-style credentials file and returns `profile`'s keys. `source` names the
// file in errors. Missing profile or key: kFailedPrecondition (no secret in the message).
absl::StatusOr<AwsCredentials> ParseCredentialsFile(absl::string_view text,
                                                    absl::string_view profile,
                                                    absl::string_view source);

// Environment first, then the credentials file. Nothing found: kFailedPrecondition saying
// where it looked.
absl::StatusOr<AwsCredentials> LoadAwsCredentials(const EnvLookup& env);

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_AWS_CREDENTIALS_H_
