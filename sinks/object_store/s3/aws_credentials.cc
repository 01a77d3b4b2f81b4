// Reading AWS credentials from the environment or the shared credentials file.
#include "sinks/object_store/s3/aws_credentials.h"

#include "proto/core/secret_file.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace walship::sinks::s3 {

EnvLookup ProcessEnv() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<AwsCredentials> ParseCredentialsFile(absl::string_view text,
                                                    absl::string_view profile,
                                                    absl::string_view source) {
  AwsCredentials credentials;
  bool in_profile = false;
  bool found_profile = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        in_profile = false;
        continue;
      }
      absl::string_view name = absl::StripAsciiWhitespace(line.substr(1, line.size() - 2));
      // ~/.aws/config style "[profile x]" is accepted too.
      absl::ConsumePrefix(&name, "profile ");
      name = absl::StripAsciiWhitespace(name);
      in_profile = name == profile;
      found_profile |= in_profile;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (name == "aws_access_key_id") credentials.access_key_id = value;
    if (name == "aws_secret_access_key") credentials.secret_access_key = value;
    if (name == "aws_session_token") credentials.session_token = value;
  }
  if (!found_profile) {
    return absl::FailedPreconditionError(
        absl::StrFormat("AWS credentials file \"%s\" has no profile \"%s\"", source, profile));
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "profile \"%s\" in AWS credentials file \"%s\" lacks aws_access_key_id or "
        "aws_secret_access_key",
        profile, source));
  }
  return credentials;
}

absl::StatusOr<AwsCredentials> LoadAwsCredentials(const EnvLookup& env) {
  std::optional<std::string> id = env("AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = env("AWS_SECRET_ACCESS_KEY");
  if (id.has_value() && !id->empty()) {
    if (!secret.has_value() || secret->empty()) {
      return absl::FailedPreconditionError(
          "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    AwsCredentials credentials{*id, *secret, env("AWS_SESSION_TOKEN").value_or("")};
    return credentials;
  }
  std::string path;
  if (std::optional<std::string> file = env("AWS_SHARED_CREDENTIALS_FILE");
      file.has_value() && !file->empty()) {
    path = *file;
  } else if (std::optional<std::string> home = env("HOME"); home.has_value() && !home->empty()) {
    path = absl::StrCat(*home, "/.aws/credentials");
  }
  std::string profile = env("AWS_PROFILE").value_or("");
  if (profile.empty()) profile = "default";
  std::ifstream in(path);
  if (!path.empty() && in) WarnIfSecretFileIsLoose(path, "AWS credentials file");
  if (path.empty() || !in) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write "
        "profile \"%s\" to the credentials file (\"%s\" is not readable)",
        profile, path.empty() ? "~/.aws/credentials" : path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseCredentialsFile(text.str(), profile, path);
}

}  // namespace walship::sinks::s3
