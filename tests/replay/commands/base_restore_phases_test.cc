// The phases of a restore from a base over a fake target session: what each sends, in
// which order, and that every refusal comes before the first write.
#include "replay/commands/base_restore.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/fake_pg_session.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::walship::testing::FakePgSession;

constexpr char kTableLookup[] = "FROM pg_class c JOIN pg_namespace n";
constexpr char kHasRows[] = "SELECT EXISTS (SELECT 1 FROM ";

class BaseRestorePhasesTest : public ::testing::Test {
 protected:
  BaseRestorePhasesTest() {
    stream_.system_id = "7000000000000000001";
    stream_.slot = "crm";
    v1::BaseManifest& manifest = plan_.base.manifest;
    manifest.set_snapshot_lsn(0x5000);
    for (auto [oid, name] : {std::pair<uint32_t, const char*>{16384, "deals"}, {16390, "notes"}}) {
      v1::BaseTable* table = manifest.add_tables();
      table->mutable_relation()->set_oid(oid);
      table->mutable_relation()->set_schema("public");
      table->mutable_relation()->set_table(name);
    }
    options_.began_writing = &began_writing_;
  }

  // The target has every table (`existing`) and these hold rows.
  void TargetHas(std::vector<std::string> existing, std::vector<std::string> with_rows) {
    session_.Answer(kTableLookup, [existing](const FakePgSession::Params& params)
                                      -> absl::StatusOr<agent::pg::QueryResult> {
      agent::pg::QueryResult result;
      for (const std::string& table : existing) {
        if (params.size() == 2 && params[1] == table) result.rows.push_back({"1"});
      }
      return result;
    });
    for (const char* table : {"deals", "notes"}) {
      bool rows = std::find(with_rows.begin(), with_rows.end(), table) != with_rows.end();
      session_.AnswerValue(absl::StrCat(kHasRows, agent::pg::QuoteQualified("public", table)),
                           rows ? "t" : "f");
    }
  }

  BaseRestore Restore() {
    return BaseRestore(&store_, stream_, plan_, "unused", options_, &session_);
  }

  // The statements sent after Open()'s three session settings.
  std::vector<std::string> WritesAfterOpen() const {
    std::vector<std::string> all = session_.statements();
    EXPECT_GE(all.size(), 3u);
    return std::vector<std::string>(all.begin() + std::min<size_t>(3, all.size()), all.end());
  }

  ::walship::testing::MemoryObjectStore store_;
  sinks::StreamId stream_;
  BaseRestorePlan plan_;
  BaseRestoreOptions options_;
  bool began_writing_ = false;
  FakePgSession session_;
};

TEST_F(BaseRestorePhasesTest, OpenTunesTheSessionOnly) {
  BaseRestore restore = Restore();
  ASSERT_OK(restore.Open());
  EXPECT_THAT(session_.statements(),
              ElementsAre("SET synchronous_commit = off", "SET default_toast_compression = 'lz4'",
                          "SET session_replication_role = replica"));
  EXPECT_FALSE(began_writing_);
}

TEST_F(BaseRestorePhasesTest, ATableHoldingRowsIsRefusedBeforeAnyWrite) {
  TargetHas({"deals", "notes"}, {"notes"});
  BaseRestore restore = Restore();
  ASSERT_OK(restore.Open());
  absl::Status status = restore.Schema();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("\"public.notes\" in the target is not empty"));
  EXPECT_THAT(status.message(), HasSubstr("--force"));
  EXPECT_TRUE(WritesAfterOpen().empty());
  EXPECT_FALSE(began_writing_);
}

TEST_F(BaseRestorePhasesTest, ForceEmptiesOnlyTheTablesWithRowsAfterCheckingEveryOne) {
  TargetHas({"deals", "notes"}, {"deals"});
  options_.force = true;
  BaseRestore restore = Restore();
  ASSERT_OK(restore.Open());
  ASSERT_OK(restore.Schema());
  EXPECT_THAT(WritesAfterOpen(),
              ElementsAre(absl::StrCat("TRUNCATE ONLY ", agent::pg::QuoteQualified("public", "deals"),
                                       " CASCADE")));
  EXPECT_TRUE(began_writing_);
  // Both tables were checked before the first TRUNCATE.
  const std::vector<std::string>& log = session_.log();
  size_t truncate = 0, last_check = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    if (absl::StartsWith(log[i], "TRUNCATE")) truncate = i;
    if (absl::StrContains(log[i], kHasRows)) last_check = i;
  }
  EXPECT_LT(last_check, truncate);
}

TEST_F(BaseRestorePhasesTest, SomeTablesPresentAndOthersMissingIsRefused) {
  TargetHas({"deals"}, {});
  BaseRestore restore = Restore();
  ASSERT_OK(restore.Open());
  absl::Status status = restore.Schema();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("some of the base's tables (public.deals)"));
  EXPECT_THAT(status.message(), HasSubstr("not others (public.notes)"));
  EXPECT_TRUE(WritesAfterOpen().empty());
  EXPECT_FALSE(began_writing_);
}

TEST_F(BaseRestorePhasesTest, AnIntoSchemaTableThatExistsIsRefusedBeforeCreatingTheSchema) {
  TargetHas({"deals"}, {});
  options_.into_schema = "yesterday";
  options_.tables = {"deals"};
  BaseRestore restore = Restore();
  ASSERT_OK(restore.Open());
  absl::Status status = restore.Schema();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("already exists in the target"));
  EXPECT_TRUE(WritesAfterOpen().empty());
}

TEST_F(BaseRestorePhasesTest, IntoSchemaWithoutTablesIsRefusedBeforeConnecting) {
  options_.into_schema = "yesterday";
  absl::StatusOr<BaseRestoreResult> result = Restore().Run();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(session_.log().empty());
}

TEST_F(BaseRestorePhasesTest, PostDataSetsTheBaseSequencesThenCommitsDurablyLast) {
  TargetHas({"deals", "notes"}, {});
  v1::SequenceValue* sequence = plan_.base.manifest.add_sequences();
  sequence->set_schema("public");
  sequence->set_name("deals_id_seq");
  sequence->set_last_value(42);
  sequence->set_is_called(true);
  sequence->set_owned_by_table("public.deals");
  sequence->set_owned_by_column("id");
  session_.AnswerValue("to_regclass", "t");
  std::vector<std::string> setval_params;
  session_.Answer("setval('", [&](const FakePgSession::Params& params)
                                  -> absl::StatusOr<agent::pg::QueryResult> {
    for (const auto& p : params) setval_params.push_back(p.value_or("NULL"));
    return agent::pg::QueryResult{};
  });
  BaseRestore restore = Restore();
  ASSERT_OK(restore.Open());
  ASSERT_OK(restore.Schema());
  ASSERT_OK(restore.PostData());
  EXPECT_THAT(setval_params, ElementsAre("42", "true"));
  EXPECT_EQ(restore.result().sequences_set, 1u);
  std::vector<std::string> writes = WritesAfterOpen();
  ASSERT_GE(writes.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(writes.end() - 4, writes.end()),
              ElementsAre("SET synchronous_commit = on", "BEGIN",
                          "SELECT pg_catalog.txid_current()", "COMMIT"));
  // The durable commit is the very last thing sent.
  EXPECT_EQ(session_.log().back(), "COMMIT");
}

TEST_F(BaseRestorePhasesTest, ChangesNeedTheRestoresOwnConnection) {
  BaseRestore restore = Restore();
  ASSERT_OK(restore.Open());
  EXPECT_EQ(restore.Changes().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace walship::replay
