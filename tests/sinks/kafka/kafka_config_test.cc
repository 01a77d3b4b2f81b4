// Tests of properties parsing, secret refusal and the layered producer configuration.
#include "sinks/kafka/kafka_config.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::walship::testing::StatusIs;

std::string ConfValue(rd_kafka_conf_t* conf, const char* key) {
  char value[512];
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(conf, key, value, &size) != RD_KAFKA_CONF_OK) return "<unset>";
  return value;
}

TEST(KafkaConfig, SecretSettingsAreRecognized) {
  for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                          "sasl.oauthbearer.client.secret", "ssl.key.pem", "SASL.PASSWORD"}) {
    EXPECT_TRUE(IsSecretSetting(key)) << key;
  }
  for (const char* key : {"sasl.username", "ssl.ca.location", "linger.ms", "security.protocol",
                          "ssl.keystore.location"}) {
    EXPECT_FALSE(IsSecretSetting(key)) << key;
  }
}

TEST(KafkaConfig, PropertiesSkipCommentsAndBlankLinesAndTrim) {
  auto parsed = ParseProperties(
      "# credentials\n"
      "\n"
      "security.protocol = SASL_SSL\n"
      "  ! another comment\n"
      "sasl.password=p=a ss#word\r\n"
      "empty.value=\n",
      "test");
  ASSERT_OK(parsed.status());
  EXPECT_THAT(*parsed, ElementsAre(Pair("security.protocol", "SASL_SSL"),
                                   Pair("sasl.password", "p=a ss#word"), Pair("empty.value", "")));
}

TEST(KafkaConfig, PropertiesLineWithoutEqualsIsRejectedByLineNumberWithoutEchoingIt) {
  auto parsed = ParseProperties("a=b\nhunter2-secret\n", "properties file \"x\"");
  EXPECT_THAT(parsed.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(parsed.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(parsed.status().message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(ParseProperties("=value\n", "t").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KafkaConfig, ReadsPropertiesFile) {
  char path[] = "/tmp/walship_kafka_props_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "sasl.username=alice\nsasl.password=s3cret\n";
  auto parsed = ReadPropertiesFile(path);
  unlink(path);
  ASSERT_OK(parsed.status());
  EXPECT_THAT(*parsed,
              ElementsAre(Pair("sasl.username", "alice"), Pair("sasl.password", "s3cret")));
  EXPECT_THAT(ReadPropertiesFile("/nonexistent/walship.properties").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KafkaConfig, SecretOnCommandLineIsRefusedNamingThePropertiesFile) {
  for (const char* setting : {"sasl.password=hunter2", "ssl.key.password=hunter2",
                              "sasl.oauthbearer.client.secret=hunter2"}) {
    auto parsed = ParseCommandLineSettings({"linger.ms=10", setting});
    EXPECT_THAT(parsed.status(), StatusIs(absl::StatusCode::kInvalidArgument)) << setting;
    EXPECT_THAT(parsed.status().message(), HasSubstr("--kafka-config-file"));
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("hunter2")));
  }
}

TEST(KafkaConfig, CommandLineSettingWithoutEqualsIsRejected) {
  EXPECT_THAT(ParseCommandLineSettings({"linger.ms"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto ok = ParseCommandLineSettings({"linger.ms=10", "client.id=a=b"});
  ASSERT_OK(ok.status());
  EXPECT_THAT(*ok, ElementsAre(Pair("linger.ms", "10"), Pair("client.id", "a=b")));
}

TEST(KafkaConfig, LaterLayersWinAndFixedSettingsAreApplied) {
  auto conf =
      BuildProducerConf({{"linger.ms", "5"}, {"client.id", "walship"}},
                        {{"linger.ms", "7"}, {"sasl.username", "alice"}}, {{"linger.ms", "9"}});
  ASSERT_OK(conf.status());
  EXPECT_EQ(ConfValue(conf->get(), "linger.ms"), "9");
  EXPECT_EQ(ConfValue(conf->get(), "client.id"), "walship");
  EXPECT_EQ(ConfValue(conf->get(), "sasl.username"), "alice");
  EXPECT_EQ(ConfValue(conf->get(), "enable.idempotence"), "true");
  EXPECT_EQ(ConfValue(conf->get(), "acks"), "-1");
}

TEST(KafkaConfig, UnknownSettingIsInvalidArgumentWithLibrdkafkaReason) {
  auto conf = BuildProducerConf({}, {}, {{"no.such.setting", "1"}});
  EXPECT_THAT(conf.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conf.status().message(), HasSubstr("no.such.setting"));
  EXPECT_THAT(conf.status().message(), HasSubstr("No such configuration property"));
}

TEST(KafkaConfig, InvalidValueOfSecretSettingDoesNotEchoTheValue) {
  auto conf = BuildProducerConf({}, {{"sasl.password", std::string("bad\0value", 9)}}, {});
  // Any string is a valid password; what matters is that no message ever quotes it.
  if (!conf.ok()) {
    EXPECT_THAT(conf.status().message(), Not(HasSubstr("bad")));
  }
  auto bad = BuildProducerConf({}, {{"linger.ms", "soon"}}, {});
  EXPECT_THAT(bad.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(bad.status().message(), HasSubstr("linger.ms"));
}

TEST(KafkaConfig, SettingsContradictingIdempotenceOrAcksAreRefused) {
  EXPECT_THAT(BuildProducerConf({}, {}, {{"enable.idempotence", "false"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildProducerConf({}, {{"acks", "1"}}, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildProducerConf({}, {}, {{"request.required.acks", "0"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(BuildProducerConf({}, {}, {{"acks", "all"}, {"enable.idempotence", "true"}}).status());
}

}  // namespace
}  // namespace walship::sinks::kafka
