// S3 URL parsing and request addressing.
#include "sinks/object_store/s3/s3_url.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/s3/sigv4_signer.h"

namespace walship::sinks::s3 {
namespace {

absl::Status UrlError(absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("object store URL \"%s\": %s", url, why));
}

// Decodes %XX escapes (and nothing else); nullopt on a broken escape.
std::optional<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int value = 0;
    for (int j = 1; j <= 2; ++j) {
      char c = text[i + j];
      int digit = absl::ascii_isdigit(c) ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + digit;
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

bool ValidBucketName(absl::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '.')) return false;
  }
  return absl::ascii_isalnum(bucket.front()) && absl::ascii_isalnum(bucket.back());
}

// "localhost", an IPv4 address or a bracketed IPv6 address (port removed).
bool IsIpOrLocalhost(absl::string_view host_port) {
  if (absl::StartsWith(host_port, "[")) return true;
  absl::string_view host = host_port.substr(0, host_port.find(':'));
  if (host == "localhost") return true;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (!absl::ascii_isdigit(c)) {
      return false;
    }
  }
  return dots == 3;
}

std::optional<std::string> FirstSet(const EnvLookup& env,
                                    std::initializer_list<absl::string_view> names) {
  for (absl::string_view name : names) {
    std::optional<std::string> value = env(name);
    if (value.has_value() && !value->empty()) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string S3Location::Host() const {
  return path_style ? endpoint_host : absl::StrCat(bucket, ".", endpoint_host);
}

std::string S3Location::FullKey(absl::string_view key) const {
  return prefix.empty() ? std::string(key) : absl::StrCat(prefix, "/", key);
}

std::string S3Location::PathFor(absl::string_view full_key) const {
  std::string encoded = UriEncode(full_key, false);
  return path_style ? absl::StrCat("/", bucket, "/", encoded) : absl::StrCat("/", encoded);
}

std::string S3Location::ToUrl() const {
  std::string url = absl::StrCat("s3://", bucket, prefix.empty() ? "" : "/", prefix,
                                 "?endpoint=", scheme, "://", endpoint_host,
                                 "&region=", region,
                                 "&addressing=", path_style ? "path" : "virtual");
  if (!tls_verify) absl::StrAppend(&url, "&tls_verify=false");
  return url;
}

absl::StatusOr<S3Location> ParseS3Url(absl::string_view url, const EnvLookup& env) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "s3://")) return UrlError(url, "must start with s3://");
  if (rest.find('#') != absl::string_view::npos) return UrlError(url, "takes no fragment");
  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Location location;
  size_t slash = rest.find('/');
  location.bucket = std::string(rest.substr(0, slash));
  if (!ValidBucketName(location.bucket)) {
    return UrlError(url, absl::StrFormat("\"%s\" is not a valid bucket name (3-63 characters "
                                         "of a-z, 0-9, '.', '-')",
                                         location.bucket));
  }
  if (slash != absl::string_view::npos) {
    absl::string_view prefix = rest.substr(slash + 1);
    while (absl::ConsumeSuffix(&prefix, "/")) {
    }
    if (!prefix.empty()) {
      WALSHIP_RETURN_IF_ERROR(Annotate(ValidateObjectKey(prefix),
                                       absl::StrFormat("object store URL \"%s\" prefix", url)));
    }
    location.prefix = std::string(prefix);
  }

  std::optional<std::string> endpoint, region, addressing;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    size_t eq = pair.find('=');
    absl::string_view name = pair.substr(0, eq);
    std::optional<std::string> value =
        PercentDecode(eq == absl::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value.has_value()) {
      return UrlError(url, absl::StrFormat("bad %%-escape in parameter \"%s\"", name));
    }
    std::optional<std::string>* target = nullptr;
    if (name == "endpoint") {
      target = &endpoint;
    } else if (name == "region") {
      target = &region;
    } else if (name == "addressing") {
      target = &addressing;
    } else if (name == "tls_verify") {
      if (*value != "false" && *value != "true") {
        return UrlError(url, "tls_verify must be \"true\" or \"false\"");
      }
      location.tls_verify = *value == "true";
      continue;
    } else if (name == "max_attempts") {
      if (!absl::SimpleAtoi(*value, &location.max_attempts) || location.max_attempts < 1 ||
          location.max_attempts > 100) {
        return UrlError(url, "max_attempts must be a number from 1 to 100");
      }
      continue;
    } else {
      return UrlError(url, absl::StrFormat("unknown parameter \"%s\" (known: endpoint, region, "
                                           "addressing, tls_verify, max_attempts)",
                                           name));
    }
    if (target->has_value()) {
      return UrlError(url, absl::StrFormat("parameter \"%s\" given twice", name));
    }
    *target = std::move(value);
  }

  if (!region.has_value()) region = FirstSet(env, {"AWS_REGION", "AWS_DEFAULT_REGION"});
  location.region = region.value_or("us-east-1");
  if (location.region.empty() ||
      location.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
          std::string::npos) {
    return UrlError(url, absl::StrFormat("\"%s\" is not a valid region", location.region));
  }
  if (!endpoint.has_value()) endpoint = FirstSet(env, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  std::string endpoint_url =
      endpoint.value_or(absl::StrCat("https://s3.", location.region, ".amazonaws.com"));
  absl::string_view host = endpoint_url;
  if (absl::ConsumePrefix(&host, "https://")) {
    location.scheme = "https";
  } else if (absl::ConsumePrefix(&host, "http://")) {
    location.scheme = "http";
  } else {
    return UrlError(url, absl::StrFormat("endpoint \"%s\" must start with http:// or https://",
                                         endpoint_url));
  }
  while (absl::ConsumeSuffix(&host, "/")) {
  }
  if (host.empty() || host.find_first_of("/?#@ ") != absl::string_view::npos) {
    return UrlError(url, absl::StrFormat("endpoint \"%s\" must be scheme://host[:port] only",
                                         endpoint_url));
  }
  location.endpoint_host = std::string(host);

  if (!addressing.has_value()) {
    location.path_style = IsIpOrLocalhost(location.endpoint_host);
  } else if (*addressing == "path") {
    location.path_style = true;
  } else if (*addressing == "virtual") {
    location.path_style = false;
  } else {
    return UrlError(url, "addressing must be \"path\" or \"virtual\"");
  }
  return location;
}

bool S3Location::InsecureRemote() const {
  if (scheme != "http") return false;
  absl::string_view host = endpoint_host;
  if (absl::StartsWith(host, "[")) return !absl::StartsWith(host, "[::1]");
  host = host.substr(0, host.find(':'));
  return !(host == "localhost" || absl::StartsWith(host, "127."));
}

}  // namespace walship::sinks::s3
