// Properties parsing, secret refusal and the layered librdkafka producer configuration.
#include "sinks/kafka/kafka_config.h"

#include "proto/core/secret_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace walship::sinks::kafka {
namespace {

// Settings walship's guarantees rest on, and the user values that agree with them.
struct FixedSetting {
  absl::string_view key;
  absl::string_view value;
  std::vector<absl::string_view> accepted;
};

const std::vector<FixedSetting>& FixedSettings() {
  static const auto* fixed = new std::vector<FixedSetting>{
      {"enable.idempotence", "true", {"true"}},
      {"acks", "all", {"all", "-1"}},
      {"request.required.acks", "all", {"all", "-1"}},
  };
  return *fixed;
}

absl::Status SetOne(rd_kafka_conf_t* conf, const Setting& setting, absl::string_view layer) {
  char err[512] = {0};
  rd_kafka_conf_res_t res =
      rd_kafka_conf_set(conf, setting.first.c_str(), setting.second.c_str(), err, sizeof(err));
  if (res == RD_KAFKA_CONF_OK) return absl::OkStatus();
  if (IsSecretSetting(setting.first) && res == RD_KAFKA_CONF_INVALID) {
    // librdkafka's message would quote the value.
    return absl::InvalidArgumentError(
        absl::StrFormat("kafka: invalid value for setting \"%s\" (%s)", setting.first, layer));
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("kafka: setting \"%s\" (%s): %s", setting.first, layer, err));
}

absl::StatusOr<Setting> SplitSetting(absl::string_view text) {
  size_t eq = text.find('=');
  if (eq == absl::string_view::npos) return absl::InvalidArgumentError("missing '='");
  std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
  std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
  if (key.empty()) return absl::InvalidArgumentError("empty key");
  return Setting{std::move(key), std::move(value)};
}

}  // namespace

bool IsSecretSetting(absl::string_view key) {
  std::string lower = absl::AsciiStrToLower(key);
  return absl::StrContains(lower, "password") || absl::StrContains(lower, "secret") ||
         lower == "ssl.key.pem" || lower == "ssl_key" || lower == "sasl.oauthbearer.config" ||
         lower == "sasl.oauthbearer.token";
}

absl::StatusOr<std::vector<Setting>> ParseProperties(absl::string_view text,
                                                     absl::string_view source) {
  std::vector<Setting> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == '!') continue;
    auto setting = SplitSetting(trimmed);
    if (!setting.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("kafka: %s, line %d: %s; expected key=value", source, line_number,
                          setting.status().message()));
    }
    out.push_back(*std::move(setting));
  }
  return out;
}

absl::StatusOr<std::vector<Setting>> ReadPropertiesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "kafka: cannot read properties file \"%s\": %s", path, std::strerror(errno)));
  }
  WarnIfSecretFileIsLoose(path, "kafka properties file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("kafka: reading properties file \"%s\" failed", path));
  }
  return ParseProperties(buffer.str(), absl::StrFormat("properties file \"%s\"", path));
}

absl::StatusOr<std::vector<Setting>> ParseCommandLineSettings(
    const std::vector<std::string>& settings) {
  std::vector<Setting> out;
  for (const std::string& text : settings) {
    auto setting = SplitSetting(text);
    if (!setting.ok()) {
      // Without '=' we cannot tell a key from a value: do not echo it.
      return absl::InvalidArgumentError(
          absl::StrFormat("kafka: setting %d on the command line: %s; expected key=value",
                          static_cast<int>(out.size()) + 1, setting.status().message()));
    }
    if (IsSecretSetting(setting->first)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "kafka: setting \"%s\" holds a secret and is refused on the command line; put it "
          "in the properties file (--kafka-config-file)",
          setting->first));
    }
    out.push_back(*std::move(setting));
  }
  return out;
}

absl::StatusOr<ConfPtr> BuildProducerConf(const std::vector<Setting>& defaults,
                                          const std::vector<Setting>& file_settings,
                                          const std::vector<Setting>& cli_settings) {
  ConfPtr conf(rd_kafka_conf_new());
  for (const Setting& setting : defaults) {
    absl::Status status = SetOne(conf.get(), setting, "default");
    if (!status.ok()) return absl::InternalError(status.message());
  }
  const std::pair<const std::vector<Setting>*, absl::string_view> layers[] = {
      {&file_settings, "properties file"}, {&cli_settings, "command line"}};
  for (const auto& [settings, layer] : layers) {
    for (const Setting& setting : *settings) {
      for (const FixedSetting& fixed : FixedSettings()) {
        if (setting.first != fixed.key) continue;
        bool agrees = false;
        for (absl::string_view accepted : fixed.accepted) agrees |= setting.second == accepted;
        if (!agrees) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "kafka: setting \"%s=%s\" (%s) is refused: walship needs %s=%s to keep every "
              "change once and in order",
              setting.first, setting.second, layer, fixed.key, fixed.value));
        }
      }
      absl::Status status = SetOne(conf.get(), setting, layer);
      if (!status.ok()) return status;
    }
  }
  for (const FixedSetting& fixed : FixedSettings()) {
    if (fixed.key == "request.required.acks") continue;  // an alias of acks
    absl::Status status =
        SetOne(conf.get(), Setting{std::string(fixed.key), std::string(fixed.value)}, "fixed");
    if (!status.ok()) return absl::InternalError(status.message());
  }
  return conf;
}

}  // namespace walship::sinks::kafka
