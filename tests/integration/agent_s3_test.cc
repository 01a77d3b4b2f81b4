// The shipped agent writing to S3 end to end: a local directory and s3rver, a real
// S3-protocol server, at once; the Debian aws CLI lists and downloads what was stored and
// finds ARCHITECTURE.md's layout; a restore from each store alone equals the source. Faults
// (tests/tools/fake_s3 and tests/tools/fault_proxy): agent_s3_fault_test.cc.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/integration/agent_s3_fixture.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Keys of a local store directory, relative to it, sorted.
std::vector<std::string> LocalKeys(const std::string& dir) {
  std::vector<std::string> keys;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      keys.push_back(std::filesystem::relative(entry.path(), dir).string());
    }
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST_F(AgentS3Test, LocalDirectoryAndS3rverAtOnceEachRestoresTheSource) {
  if (!StartS3rver()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "s3rver or node is not installed (WALSHIP_ALLOW_MISSING_PEERS=1)";
  }
  ASSERT_FALSE(endpoint_.empty());
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(auto agent,
                       StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                                   "file://" + store_, "--object-store", S3Url(), "--work-dir",
                                   work_ + "/agent", "--segment-max-ms", "50"},
                                  log));
  ASSERT_THAT(WaitForBase(store_, absl::Seconds(60)), IsOk()) << ReadFile(log);
  ASSERT_OK(WaitForS3Base(*agent, log));
  Lsn before_last;
  for (const WorkloadStep& step : CrmWorkload()) {
    ASSERT_OK_AND_ASSIGN(before_last, CurrentLsn(*pg_, "crm"));
    ASSERT_THAT(pg_->Psql("crm", step.sql).status(), IsOk()) << step.name;
  }
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk()) << ReadFile(log);
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  // The aws CLI, an independent client, lists the layout of ARCHITECTURE.md.
  SubprocessResult ls = Aws({"s3", "ls", "--recursive", absl::StrCat("s3://", kBucket, "/crm/")});
  ASSERT_EQ(ls.exit_code, 0) << ls.stderr_text;
  std::vector<std::string> cli_keys;
  for (absl::string_view line : absl::StrSplit(ls.stdout_text, '\n', absl::SkipEmpty())) {
    // "2024-01-01 00:00:00       1234 crm/<key>"
    size_t at = line.find(" crm/");
    ASSERT_NE(at, absl::string_view::npos) << line;
    cli_keys.emplace_back(line.substr(at + 5));
  }
  std::sort(cli_keys.begin(), cli_keys.end());
  const std::regex wal(R"(^[0-9]+/walship/wal/[0-9A-F]{16}-[0-9A-F]{16}\.seg$)");
  const std::regex index(R"(^[0-9]+/walship/index/[0-9A-F]{16}\.idx$)");
  const std::regex manifest(R"(^[0-9]+/walship/base/[0-9A-F]{16}/manifest\.pb$)");
  const std::regex base_rows(R"(^[0-9]+/walship/base/[0-9A-F]{16}/[A-Za-z0-9_.-]+\.[0-9]+\.seg$)");
  int wal_keys = 0, index_keys = 0, manifests = 0, base_keys = 0;
  for (const std::string& key : cli_keys) {
    if (std::regex_match(key, wal)) {
      ++wal_keys;
    } else if (std::regex_match(key, index)) {
      ++index_keys;
    } else if (std::regex_match(key, manifest)) {
      ++manifests;
    } else if (std::regex_match(key, base_rows)) {
      ++base_keys;
    } else if (!absl::StrContains(key, "/heartbeat") &&
               !std::regex_match(key, std::regex(R"(^[0-9]+/walship/incarnation/[0-9]{8}\.json$)"))) {
      ADD_FAILURE() << "key outside the layout: " << key;
    }
  }
  EXPECT_GT(wal_keys, 0);
  EXPECT_EQ(index_keys, wal_keys);
  EXPECT_EQ(manifests, 1);
  EXPECT_GT(base_keys, 0);
  EXPECT_EQ(cli_keys, S3Keys());  // our own paginated listing agrees with the CLI
  // The slot confirmed the last step only once S3 held it too.
  EXPECT_GT(MaxEndOf(cli_keys), before_last);

  // Each sink cuts its own segments (its own timers), so the wal/ and index/ key sets of
  // the two stores may differ. The base, taken once and written to both, is byte-identical.
  // A change segment under the same key in both holds the same events, but its header (the
  // sink's creation time) and so its trailer checksum differ: same size, and only those
  // bytes differ.
  SubprocessResult cp = Aws({"s3", "cp", "--recursive", "--quiet",
                             absl::StrCat("s3://", kBucket, "/crm/"), work_ + "/downloaded"});
  ASSERT_EQ(cp.exit_code, 0) << cp.stderr_text;
  std::vector<std::string> local_keys = LocalKeys(store_);
  std::vector<std::string> common;
  std::set_intersection(local_keys.begin(), local_keys.end(), cli_keys.begin(), cli_keys.end(),
                        std::back_inserter(common));
  int common_wal = 0, identical_wal = 0;
  for (const std::string& key : common) {
    if (absl::StrContains(key, "/heartbeat")) continue;
    std::string s3_bytes = FileBytes(work_ + "/downloaded/" + key);
    std::string local_bytes = FileBytes(store_ + "/" + key);
    EXPECT_FALSE(s3_bytes.empty()) << key;
    if (absl::StrContains(key, "/wal/")) {
      ++common_wal;
      ASSERT_EQ(s3_bytes.size(), local_bytes.size()) << key;
      size_t differing = 0;
      for (size_t i = 0; i < s3_bytes.size(); ++i) differing += s3_bytes[i] != local_bytes[i];
      EXPECT_LT(differing, 512u) << key;
      if (differing == 0) ++identical_wal;
    } else if (absl::StrContains(key, "/base/")) {
      EXPECT_TRUE(s3_bytes == local_bytes) << "differs between stores: " << key;
    }
  }
  for (const std::string& key : cli_keys) {
    if (absl::StrContains(key, "/base/")) {
      EXPECT_TRUE(std::binary_search(local_keys.begin(), local_keys.end(), key)) << key;
    }
  }
  std::printf("[ info ] wal keys: %d in s3rver, %d under the same key in both (%d identical)\n",
              wal_keys, common_wal, identical_wal);

  // A restore from either store alone equals the source.
  EXPECT_EQ(FirstDifference(expected, RestoreInto("file://" + store_, "from_local")), "");
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "from_s3")), "");
}

}  // namespace
}  // namespace walship::testing
