// The Kafka sink's producer configuration: parsing the properties file (key=value lines,
// where TLS and SASL secrets live), refusing secrets given on the command line, and building
// the librdkafka configuration with walship's fixed producer settings.
//
// Secret values never appear in an error message or a log line.
#ifndef WALSHIP_SINKS_KAFKA_KAFKA_CONFIG_H_
#define WALSHIP_SINKS_KAFKA_KAFKA_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sinks/kafka/rdkafka_handles.h"

namespace walship::sinks::kafka {

using Setting = std::pair<std::string, std::string>;

// True for librdkafka settings whose value is a secret (sasl.password, ssl.key.password,
// ssl.keystore.password, sasl.oauthbearer.client.secret, ssl.key.pem, ...).
bool IsSecretSetting(absl::string_view key);

// Parses a properties text: one "key=value" per line, blanks around key and value trimmed,
// empty lines and lines starting with '#' or '!' ignored. `source` names the text in errors
// ("properties file \"/etc/walship/kafka.properties\""). kInvalidArgument for a line
// without '=' or with an empty key (the error gives the line number, never the line).
absl::StatusOr<std::vector<Setting>> ParseProperties(absl::string_view text,
                                                     absl::string_view source);

// Reads and parses the properties file at `path`: kInvalidArgument when it cannot be read.
absl::StatusOr<std::vector<Setting>> ReadPropertiesFile(const std::string& path);

// Parses "key=value" settings given on the command line. kInvalidArgument for one without
// '=' and for a secret setting (those belong in the properties file).
absl::StatusOr<std::vector<Setting>> ParseCommandLineSettings(
    const std::vector<std::string>& settings);

// Producer configuration layered in this order, later layers winning: `defaults`, then
// `file_settings`, then `cli_settings`; finally the fixed settings walship's guarantees
// rest on (enable.idempotence=true, acks=all). A user setting that contradicts a fixed one,
// or that librdkafka rejects (unknown name, bad value), is kInvalidArgument with
// librdkafka's reason (the value is left out for secret settings).
absl::StatusOr<ConfPtr> BuildProducerConf(const std::vector<Setting>& defaults,
                                          const std::vector<Setting>& file_settings,
                                          const std::vector<Setting>& cli_settings);

}  // namespace walship::sinks::kafka

#endif  // WALSHIP_SINKS_KAFKA_KAFKA_CONFIG_H_
