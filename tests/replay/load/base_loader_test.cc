// The base load over in-memory base objects and fake sessions: what each COPY stream is
// sent and in which transaction, FREEZE for a table the restore created, a table split over
// several streams, and the refusals (manifest count, rows the server did not take, a COPY
// the server refused) that roll every stream back. Against a real server: the restore
// tests in tests/replay/commands and the fidelity corpus.
#include "replay/load/base_loader.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/byte_io.h"
#include "proto/segment_writer.h"
#include "sinks/object_store/layout.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/fake_pg_session.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::walship::testing::FakePgSession;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;
using testing::MakeRelation;
using testing::RelationRecord;
using testing::TestStream;

constexpr uint64_t kBaseLsn = 0x5000000;

// Forwards to a FakePgSession the test keeps: the load destroys the sessions it opened.
class Borrowed : public agent::pg::CopyInSession {
 public:
  explicit Borrowed(FakePgSession* session) : session_(session) {}
  absl::Status Exec(absl::string_view sql, absl::string_view what) override {
    return session_->Exec(sql, what);
  }
  absl::StatusOr<agent::pg::QueryResult> Query(absl::string_view sql,
                                               const FakePgSession::Params& params,
                                               absl::string_view what) override {
    return session_->Query(sql, params, what);
  }
  absl::StatusOr<std::optional<std::string>> QueryValue(absl::string_view sql,
                                                        const FakePgSession::Params& params,
                                                        absl::string_view what) override {
    return session_->QueryValue(sql, params, what);
  }
  std::string Describe() const override { return session_->Describe(); }
  absl::Status BeginCopyIn(absl::string_view sql) override { return session_->BeginCopyIn(sql); }
  absl::Status PutCopyData(absl::string_view data) override {
    return session_->PutCopyData(data);
  }
  absl::Status EndCopyIn() override { return session_->EndCopyIn(); }
  void AbortCopyIn(absl::string_view why) override { session_->AbortCopyIn(why); }
  absl::StatusOr<uint64_t> CopyInResult() override { return session_->CopyInResult(); }

 private:
  FakePgSession* session_;
};

// Opens sessions for the loading threads (thread-safe), each over a FakePgSession kept here.
class FakeSessions {
 public:
  agent::pg::CopyInSessionFactory Factory() {
    return [this]() -> absl::StatusOr<std::unique_ptr<agent::pg::CopyInSession>> {
      auto session = std::make_unique<FakePgSession>();
      session->AnswerValue("relkind", relkind_);
      if (copy_answer_) session->AnswerCopy(copy_answer_);
      absl::MutexLock lock(&mu_);
      kept_.push_back(std::move(session));
      return std::make_unique<Borrowed>(kept_.back().get());
    };
  }
  std::vector<FakePgSession*> opened() {
    absl::MutexLock lock(&mu_);
    std::vector<FakePgSession*> out;
    for (const auto& session : kept_) out.push_back(session.get());
    return out;
  }
  void set_relkind(std::string relkind) { relkind_ = std::move(relkind); }
  void AnswerCopy(std::function<absl::StatusOr<uint64_t>(uint64_t)> answer) {
    copy_answer_ = std::move(answer);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::unique_ptr<FakePgSession>> kept_ ABSL_GUARDED_BY(mu_);
  std::string relkind_ = "r";
  std::function<absl::StatusOr<uint64_t>(uint64_t)> copy_answer_;
};

class BaseLoaderTest : public ::testing::Test {
 protected:
  // Adds a table of `rows` rows ("<i>\tname <i>") in base objects of `per_object` rows each.
  const v1::BaseTable& AddTable(uint32_t oid, const std::string& name, int rows, int per_object) {
    v1::BaseTable* table = manifest_.add_tables();
    *table->mutable_relation() =
        MakeRelation(oid, name, {{"id", 23, "int4", true}, {"name", 25, "text"}});
    for (int first = 1, n = 0; first <= rows; first += per_object, ++n) {
      int last = std::min(rows, first + per_object - 1);
      std::string data;
      for (int i = first; i <= last; ++i) absl::StrAppend(&data, i, "\tname ", i, "\n");
      std::string key = sinks::BaseSegmentKey(TestStream(), Lsn(kBaseLsn), "public", name, n);
      EXPECT_THAT(store_.Put(key, BaseObject(table->relation(), data, last - first + 1)), IsOk());
      table->add_object_keys(key);
      table->set_row_count(table->row_count() + (last - first + 1));
      table->set_bytes(table->bytes() + data.size());
    }
    return *table;
  }

  static std::string BaseObject(const v1::Relation& relation, const std::string& data,
                                uint64_t rows) {
    v1::SegmentHeader header;
    header.set_codec(v1::CODEC_ZSTD);
    header.set_kind(v1::BASE_SEGMENT);
    header.set_system_id(TestStream().system_id);
    header.set_slot(TestStream().slot);
    proto::StringByteSink sink;
    auto writer = proto::SegmentWriter::Create(&sink, header);
    EXPECT_THAT(writer.status(), IsOk());
    EXPECT_THAT((*writer)->Add(RelationRecord(relation)), IsOk());
    v1::Record record;
    record.mutable_copy_rows()->set_relation_oid(relation.oid());
    record.mutable_copy_rows()->set_row_count(rows);
    record.mutable_copy_rows()->set_data(data);
    EXPECT_THAT((*writer)->Add(record), IsOk());
    EXPECT_THAT((*writer)->Finish(0), IsOk());
    return sink.Release();
  }

  static TableLoadJob Job(const v1::BaseTable& table, bool created = false) {
    TableLoadJob job;
    job.table = &table;
    job.target_schema = "public";
    job.target_table = table.relation().table();
    job.created = created;
    return job;
  }

  // The statements and COPY steps one session was given, queries left out.
  static std::vector<std::string> Steps(const FakePgSession& session) {
    std::vector<std::string> steps;
    for (const std::string& line : session.log()) {
      if (!absl::StartsWith(line, "QUERY ")) steps.push_back(line);
    }
    return steps;
  }

  static int Lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  ::walship::testing::MemoryObjectStore store_;
  v1::BaseManifest manifest_;
  FakeSessions sessions_;
};

TEST_F(BaseLoaderTest, EachTableGoesOverOneCopyInItsOwnTransaction) {
  const v1::BaseTable& deals = AddTable(16400, "deals", 250, 100);
  const v1::BaseTable& notes = AddTable(16401, "Notes", 3, 100);

  auto loaded = LoadBaseTables(&store_, TestStream(), sessions_.Factory(),
                               {Job(deals), Job(notes)}, /*jobs=*/1);

  ASSERT_THAT(loaded.status(), IsOk());
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].name, "public.deals");
  EXPECT_EQ((*loaded)[0].rows, 250u);
  EXPECT_EQ((*loaded)[0].base_rows, 250u);
  EXPECT_EQ((*loaded)[1].rows, 3u);
  std::vector<FakePgSession*> opened = sessions_.opened();
  ASSERT_EQ(opened.size(), 1u) << "one job: one session for both tables";
  // Tuned once, then each table: BEGIN, COPY, every row, end, COMMIT; the larger first.
  EXPECT_THAT(Steps(*opened[0]),
              ElementsAre("SET synchronous_commit = off", "SET session_replication_role = replica",
                          "BEGIN", "COPY IN COPY \"public\".\"deals\" (\"id\", \"name\") FROM STDIN", "COPY END",
                          "COMMIT", "BEGIN", "COPY IN COPY \"public\".\"Notes\" (\"id\", \"name\") FROM STDIN",
                          "COPY END", "COMMIT"));
  EXPECT_EQ(Lines(opened[0]->copied()), 253);
  EXPECT_THAT(opened[0]->copied(), HasSubstr("250\tname 250\n"));
}

TEST_F(BaseLoaderTest, ATableTheRestoreCreatedIsEmptiedAndFrozenUnlessPartitioned) {
  const v1::BaseTable& deals = AddTable(16400, "deals", 10, 100);
  auto loaded = LoadBaseTables(&store_, TestStream(), sessions_.Factory(),
                               {Job(deals, /*created=*/true)}, 1);
  ASSERT_THAT(loaded.status(), IsOk());
  EXPECT_THAT(Steps(*sessions_.opened()[0]),
              ::testing::IsSupersetOf({"BEGIN", "TRUNCATE ONLY \"public\".\"deals\"",
                                       "COPY IN COPY \"public\".\"deals\" (\"id\", \"name\") FROM STDIN "
                                       "WITH (FREEZE)",
                                       "COMMIT"}));

  FakeSessions partitioned;
  partitioned.set_relkind("p");
  loaded = LoadBaseTables(&store_, TestStream(), partitioned.Factory(),
                          {Job(deals, /*created=*/true)}, 1);
  ASSERT_THAT(loaded.status(), IsOk());
  for (const std::string& step : Steps(*partitioned.opened()[0])) {
    EXPECT_THAT(step, ::testing::Not(HasSubstr("FREEZE")));
    EXPECT_THAT(step, ::testing::Not(HasSubstr("TRUNCATE")));
  }
}

TEST_F(BaseLoaderTest, SpareSessionsSplitALargeTableAndAllStreamsCommitTogether) {
  const v1::BaseTable& events = AddTable(16402, "events", 400, 50);  // 8 objects
  auto loaded = LoadBaseTables(&store_, TestStream(), sessions_.Factory(), {Job(events)},
                               /*jobs=*/3, /*split_bytes=*/1);
  ASSERT_THAT(loaded.status(), IsOk());
  EXPECT_EQ((*loaded)[0].rows, 400u);
  std::vector<FakePgSession*> opened = sessions_.opened();
  ASSERT_EQ(opened.size(), 3u);
  int rows = 0;
  for (FakePgSession* session : opened) {
    SCOPED_TRACE(Steps(*session).size());
    EXPECT_GT(Lines(session->copied()), 0) << "every stream took a share";
    rows += Lines(session->copied());
    std::vector<std::string> steps = Steps(*session);
    ASSERT_FALSE(steps.empty());
    EXPECT_EQ(steps.back(), "COMMIT");
    EXPECT_THAT(steps, ::testing::Contains(
                           "COPY IN COPY \"public\".\"events\" (\"id\", \"name\") FROM STDIN"));
  }
  EXPECT_EQ(rows, 400);
}

// One table much larger than the rest gets streams of its own from the threads; spare
// connections go to the largest tables; never more connections than jobs.
TEST(PlanStreamsTest, ATableLargerThanItsShareGetsMoreStreams) {
  auto connections = [](const StreamPlan& plan) {
    int total = plan.threads;
    for (int extra : plan.extra_streams) total += extra;
    return total;
  };
  // tickets: 60 % of the bytes, jobs 4: two streams, three threads for the rest.
  StreamPlan plan = PlanStreams({600, 100, 100, 100, 50, 50}, 4, 1);
  EXPECT_EQ(plan.threads, 3);
  EXPECT_EQ(plan.extra_streams, (std::vector<int>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(connections(plan), 4);
  // Evenly sized tables: one stream each.
  plan = PlanStreams({100, 100, 100, 100, 100}, 4, 1);
  EXPECT_EQ(plan.threads, 4);
  EXPECT_EQ(plan.extra_streams, (std::vector<int>(5, 0)));
  // One table: every connection streams it. Below split_bytes: one stream.
  plan = PlanStreams({400}, 3, 1);
  EXPECT_EQ(plan.threads, 1);
  EXPECT_EQ(plan.extra_streams, (std::vector<int>{2}));
  plan = PlanStreams({400}, 3, 1000);
  EXPECT_EQ(connections(plan), 1);
  // Two big tables and small ones, jobs 2: never more than two connections.
  plan = PlanStreams({500, 500, 1, 1}, 2, 1);
  EXPECT_EQ(connections(plan), 2);
  EXPECT_EQ(plan.threads, 2);
  // Fewer tables than jobs: spare connections to the largest per stream.
  plan = PlanStreams({300, 100}, 4, 1);
  EXPECT_EQ(connections(plan), 4);
  EXPECT_EQ(plan.extra_streams[0], 2);
  EXPECT_EQ(plan.extra_streams[1], 0);
}

TEST_F(BaseLoaderTest, AManifestCountTheObjectsDoNotHoldRollsBackWithoutCommitting) {
  v1::BaseTable& deals = const_cast<v1::BaseTable&>(AddTable(16400, "deals", 20, 100));
  deals.set_row_count(21);  // the manifest promises a row the objects lack
  auto loaded = LoadBaseTables(&store_, TestStream(), sessions_.Factory(), {Job(deals)}, 1);
  EXPECT_THAT(loaded.status(), StatusIs(absl::StatusCode::kDataLoss,
                                        HasSubstr("hold 20 rows but the manifest says 21")));
  EXPECT_THAT(loaded.status().message(), HasSubstr("\"public.deals\""));
  std::vector<std::string> steps = Steps(*sessions_.opened()[0]);
  EXPECT_EQ(steps.back(), "ROLLBACK");
  EXPECT_THAT(steps, ::testing::Not(::testing::Contains("COMMIT")));
}

TEST_F(BaseLoaderTest, RowsTheServerDidNotTakeOrARefusedCopyRollEveryStreamBack) {
  const v1::BaseTable& events = AddTable(16402, "events", 100, 25);
  // One row fewer loaded than sent: a row split or joined on the way.
  sessions_.AnswerCopy([](uint64_t rows) -> absl::StatusOr<uint64_t> { return rows - 1; });
  auto loaded = LoadBaseTables(&store_, TestStream(), sessions_.Factory(), {Job(events)}, 2, 1);
  EXPECT_THAT(loaded.status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("a row split or joined")));
  ASSERT_EQ(sessions_.opened().size(), 2u);
  for (FakePgSession* session : sessions_.opened()) {
    EXPECT_EQ(Steps(*session).back(), "ROLLBACK");
  }

  FakeSessions refusing;
  refusing.AnswerCopy([](uint64_t) -> absl::StatusOr<uint64_t> {
    return absl::FailedPreconditionError("invalid input syntax for type integer");
  });
  loaded = LoadBaseTables(&store_, TestStream(), refusing.Factory(), {Job(events)}, 2, 1);
  EXPECT_THAT(loaded.status(), StatusIs(absl::StatusCode::kDataLoss,
                                        HasSubstr("COPY failed: invalid input syntax")));
  for (FakePgSession* session : refusing.opened()) {
    EXPECT_EQ(Steps(*session).back(), "ROLLBACK");
    EXPECT_THAT(Steps(*session), ::testing::Not(::testing::Contains("COMMIT")));
  }
}

}  // namespace
}  // namespace walship::replay
