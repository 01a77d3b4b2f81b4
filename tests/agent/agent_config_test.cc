// ValidateAgentConfig: every bad setting is refused with kInvalidArgument naming its option.
#include "agent/agent_config.h"

#include <functional>
#include <ostream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

AgentConfig ValidConfig() {
  AgentConfig config;
  config.source = "host=/tmp dbname=crm";
  config.object_stores = {"file:///var/lib/walship"};
  return config;
}

TEST(ValidateAgentConfig, AcceptsDefaultsWithSourceAndObjectStore) {
  EXPECT_THAT(ValidateAgentConfig(ValidConfig()), IsOk());
}

TEST(ValidateAgentConfig, AcceptsBoundaryValues) {
  AgentConfig config = ValidConfig();
  config.slot = std::string(63, 'a');
  config.publication = std::string(63, 'P');
  config.segment_max_bytes = 64 << 10;
  config.segment_max_age = absl::Milliseconds(1);
  config.compression_level = 0;
  config.create = true;
  config.tables = {"public.accounts"};
  EXPECT_THAT(ValidateAgentConfig(config), IsOk());
  config.segment_max_bytes = 4ull << 30;
  config.segment_max_age = absl::Minutes(10);
  config.compression_level = 19;
  config.slot = "crm_slot_2";
  EXPECT_THAT(ValidateAgentConfig(config), IsOk());
}

struct InvalidCase {
  std::string name;
  std::function<void(AgentConfig&)> change;
  std::string option;  // must appear in the message
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class InvalidSettingTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidSettingTest, IsInvalidArgumentNamingTheOption) {
  AgentConfig config = ValidConfig();
  GetParam().change(config);
  EXPECT_THAT(ValidateAgentConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().option)));
}

INSTANTIATE_TEST_SUITE_P(
    ValidateAgentConfig, InvalidSettingTest,
    ::testing::Values(
        InvalidCase{"MissingSource", [](AgentConfig& c) { c.source.clear(); }, "--source"},
        InvalidCase{"EmptySlot", [](AgentConfig& c) { c.slot.clear(); }, "--slot"},
        InvalidCase{"UpperCaseSlot", [](AgentConfig& c) { c.slot = "Walship"; }, "--slot"},
        InvalidCase{"SlotWithDash", [](AgentConfig& c) { c.slot = "wal-ship"; }, "--slot"},
        InvalidCase{"SlotTooLong", [](AgentConfig& c) { c.slot = std::string(64, 'a'); },
                    "--slot"},
        InvalidCase{"EmptyPublication", [](AgentConfig& c) { c.publication.clear(); },
                    "--publication"},
        InvalidCase{"PublicationTooLong",
                    [](AgentConfig& c) { c.publication = std::string(64, 'p'); },
                    "--publication"},
        InvalidCase{"NoObjectStore", [](AgentConfig& c) { c.object_stores.clear(); },
                    "--object-store"},
        InvalidCase{"SegmentTooSmall",
                    [](AgentConfig& c) { c.segment_max_bytes = (64 << 10) - 1; },
                    "--segment-max-bytes"},
        InvalidCase{"SegmentTooLarge",
                    [](AgentConfig& c) { c.segment_max_bytes = (4ull << 30) + 1; },
                    "--segment-max-bytes"},
        InvalidCase{"SegmentAgeZero",
                    [](AgentConfig& c) { c.segment_max_age = absl::ZeroDuration(); },
                    "--segment-max-ms"},
        InvalidCase{"SegmentAgeNegative",
                    [](AgentConfig& c) { c.segment_max_age = absl::Milliseconds(-5); },
                    "--segment-max-ms"},
        InvalidCase{"SegmentAgeTooLong",
                    [](AgentConfig& c) {
                      c.segment_max_age = absl::Minutes(10) + absl::Milliseconds(1);
                    },
                    "--segment-max-ms"},
        InvalidCase{"CompressionNegative", [](AgentConfig& c) { c.compression_level = -1; },
                    "--compression-level"},
        InvalidCase{"CompressionTooHigh", [](AgentConfig& c) { c.compression_level = 20; },
                    "--compression-level"},
        InvalidCase{"TablesWithoutCreate",
                    [](AgentConfig& c) {
                      c.create = false;
                      c.tables = {"public.accounts"};
                    },
                    "--tables"},
        InvalidCase{"EmptyWorkDir", [](AgentConfig& c) { c.work_dir.clear(); }, "--work-dir"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

}  // namespace
}  // namespace walship::agent
