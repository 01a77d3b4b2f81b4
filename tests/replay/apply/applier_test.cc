// Applier and Restore against a real PostgreSQL: values of many types come back as the
// exact text the stream carried; REPLICA IDENTITY FULL without a key; mid-stream ADD
// COLUMN; target checks; duplicates; recovery targets. Failures inside a long pipeline and
// thousands of pipelined changes: applier_pipeline_test.cc.
#include "replay/apply/applier.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/plan/restore_planner.h"
#include "replay/plan/target_resolver.h"
#include "replay/apply/restorer.h"
#include "replay/catalog/segment_catalog.h"
#include "tests/testing/memory_object_store.h"
#include "tests/replay/apply/applier_fixture.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::walship::testing::MemoryObjectStore;
using ::walship::replay::testing::MakeRelation;
using ::walship::replay::testing::StoreSegment;
using ::walship::replay::testing::StreamBuilder;
using ::walship::replay::testing::TestStream;
using ::walship::replay::testing::V;
using ::walship::testing::StatusIs;

constexpr char kKindsDdl[] =
    "CREATE TABLE kinds (id int PRIMARY KEY, amount numeric(12,2), at timestamptz, doc jsonb,"
    " raw json, data bytea, tags int[], note text, big text)";

v1::Relation Kinds() {
  return MakeRelation(16400, "kinds",
                      {{"id", 23, "int4", true},
                       {"amount", 1700, "numeric", false, (12 << 16 | 2) + 4},
                       {"at", 1184, "timestamptz"},
                       {"doc", 3802, "jsonb"},
                       {"raw", 114, "json"},
                       {"data", 17, "bytea"},
                       {"tags", 1007, "_int4"},
                       {"note", 25, "text"},
                       {"big", 25, "text"}});
}

TEST_F(ApplierTest, ValuesOfManyTypesComeBackAsTheirExactText) {
  std::string db = NewDatabase();
  Sql(db, kKindsDdl);
  StreamBuilder b;
  b.Define(Kinds());
  b.Begin(700);
  b.Insert(16400, {"1", "1.10", "2024-05-01 14:05:00.123456+00", "{\"a\": [1, 2], \"b\": 2}",
                   "{ \"x\" : 1 }", "\\x00ff", "{1,2,NULL}", "", "long value"});
  b.Insert(16400, {"2", V::Null(), V::Null(), V::Null(), V::Null(), V::Null(), V::Null(), V::Null(),
                   V::Null()});
  b.Begin(701);
  // An UPDATE that did not touch the out-of-line value keeps it.
  b.Update(16400, {"1", "-0.50", "2024-05-01 14:05:00.123456+00", "{\"a\": [1, 2], \"b\": 2}",
                   "{ \"x\" : 1 }", "\\x00ff", "{1,2,NULL}", "changed", V::Toast()});
  b.Update(
      16400, {"3", V::Null(), V::Null(), V::Null(), "[]", "\\x", "{}", "", V::Null()},
      {"2", V::Null(), V::Null(), V::Null(), V::Null(), V::Null(), V::Null(), V::Null(), V::Null()},
      /*old_is_key_only=*/true);
  auto conn = Connect(db);
  ASSERT_OK(ApplyAll(conn.get(), b.Take()));
  EXPECT_THAT(Rows(db, "kinds"),
              ElementsAre("(1,-0.50,\"2024-05-01 14:05:00.123456+00\",\"{\"\"a\"\": [1, 2], "
                          "\"\"b\"\": 2}\",\"{ \"\"x\"\" : 1 }\",\"\\\\x00ff\",\"{1,2,NULL}\","
                          "changed,\"long value\")",
                          "(3,,,,[],\"\\\\x\",{},\"\",)"));
  EXPECT_EQ(last_stats_.transactions, 2u);
  EXPECT_EQ(last_stats_.events, 4u);
}

TEST_F(ApplierTest, FullIdentityWithoutKeyTouchesOneOfIdenticalRows) {
  std::string db = NewDatabase();
  Sql(db, "CREATE TABLE dup (a int, j json); ALTER TABLE dup REPLICA IDENTITY FULL");
  v1::Relation dup = MakeRelation(16410, "dup", {{"a", 23, "int4"}, {"j", 114, "json"}},
                                  v1::REPLICA_IDENTITY_FULL);
  StreamBuilder b;
  b.Define(dup);
  b.Begin(800);
  b.Insert(16410, {"1", "{\"x\":1}"});
  b.Insert(16410, {"1", "{\"x\":1}"});
  b.Insert(16410, {"2", V::Null()});
  b.Begin(801);
  b.Delete(16410, {"1", "{\"x\":1}"});
  b.Update(16410, {"3", "[]"}, {"2", V::Null()});
  auto conn = Connect(db);
  ASSERT_OK(ApplyAll(conn.get(), b.Take()));
  EXPECT_THAT(Rows(db, "dup"), ElementsAre("(1,\"{\"\"x\"\":1}\")", "(3,[])"));
}

TEST_F(ApplierTest, MissingRowIsDataLoss) {
  std::string db = NewDatabase();
  Sql(db, kKindsDdl);
  StreamBuilder b;
  b.Define(Kinds());
  b.Begin(900);
  b.Delete(16400,
           {"42", V::Null(), V::Null(), V::Null(), V::Null(), V::Null(), V::Null(), V::Null(),
            V::Null()},
           /*old_is_key_only=*/true);
  auto conn = Connect(db);
  EXPECT_THAT(ApplyAll(conn.get(), b.Take()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("row not found in the target; the target does not match")));
}

TEST_F(ApplierTest, NewColumnsInTheStreamAreAddedToTheTarget) {
  std::string db = NewDatabase();
  Sql(db, "CREATE TABLE grow (id int PRIMARY KEY, name text, legacy int)");
  StreamBuilder b;
  b.Define(MakeRelation(16420, "grow", {{"id", 23, "int4", true}, {"name", 25, "text"}}));
  b.Begin(1000);
  b.Insert(16420, {"1", "a"});
  b.Begin(1001);
  b.Define(MakeRelation(16420, "grow",
                        {{"id", 23, "int4", true},
                         {"name", 25, "text"},
                         {"score", 1700, "numeric", false, (5 << 16 | 2) + 4}}));
  b.Insert(16420, {"2", "b", "3.50"});
  auto conn = Connect(db);
  ASSERT_OK(ApplyAll(conn.get(), b.Take()));
  EXPECT_EQ(Value(db,
                  "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                  "attrelid = 'grow'::regclass AND attname = 'score'"),
            "numeric(5,2)");
  EXPECT_THAT(Rows(db, "grow"), ElementsAre("(1,a,,)", "(2,b,,3.50)"));
}

TEST_F(ApplierTest, TargetTableMustExistAndBeEmptyUnlessForced) {
  std::string db = NewDatabase();
  StreamBuilder b;
  b.Define(MakeRelation(16430, "deals", {{"id", 23, "int4", true}}));
  b.Begin(1100);
  b.Insert(16430, {"7"});
  std::vector<v1::Record> records = b.Take();
  auto conn = Connect(db);
  EXPECT_THAT(ApplyAll(conn.get(), records),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("table \"public.deals\" does not exist in the target: create "
                                 "the schema first (pg_dump --schema-only")));
  conn = Connect(db);
  Sql(db, "CREATE TABLE deals (id int PRIMARY KEY); INSERT INTO deals VALUES (1), (2)");
  EXPECT_THAT(ApplyAll(conn.get(), records),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("table \"public.deals\" in the target is not empty (2 rows); "
                                 "use an empty database or --force")));
  conn = Connect(db);
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(1)", "(2)"));
  ApplierOptions force;
  force.force = true;
  ASSERT_OK(ApplyAll(conn.get(), records, force));
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(7)"));
}

TEST_F(ApplierTest, RepeatedEventsAreDroppedAndTruncateApplies) {
  std::string db = NewDatabase();
  Sql(db, "CREATE TABLE deals (id int PRIMARY KEY)");
  StreamBuilder b;
  b.Define(MakeRelation(16430, "deals", {{"id", 23, "int4", true}}));
  b.Begin(1200);
  b.Insert(16430, {"1"});
  b.Message("walship", "mark:before");
  b.Begin(1201);
  b.Truncate({16430});
  b.Insert(16430, {"2"});
  std::vector<v1::Record> records = b.Take();
  std::vector<v1::Record> twice = records;
  twice.insert(twice.end(), records.begin() + 1, records.end());
  auto conn = Connect(db);
  ASSERT_OK(ApplyAll(conn.get(), twice));
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(2)"));
  EXPECT_EQ(last_stats_.events, 4u);
  EXPECT_EQ(last_stats_.duplicates, 4u);
}

TEST_F(ApplierTest, EventForAnUndescribedRelationIsDataLoss) {
  std::string db = NewDatabase();
  StreamBuilder b;
  b.Begin(1300);
  b.Insert(99999, {"1"});
  auto conn = Connect(db);
  EXPECT_THAT(ApplyAll(conn.get(), b.Take()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("relation oid 99999")));
}

// Restore() end to end from an in-memory store: three transactions (xids 501..503) over
// two segments, the second repeating the first's last transaction.
class RestoreTest : public testing::ReplayPgTest {
 protected:
  void SetUp() override {
    v1::Relation deals = MakeRelation(16430, "deals", {{"id", 23, "int4", true}});
    StreamBuilder b;
    b.Define(deals);
    commits_.push_back(b.Begin(501));
    b.Insert(16430, {"1"});
    commits_.push_back(b.Begin(502));
    b.Insert(16430, {"2"});
    std::vector<v1::Record> first = b.Take();
    ASSERT_OK_AND_ASSIGN(v1::SegmentTrailer one, StoreSegment(&store_, first, 0));
    // The second segment starts again at xid 502 (sent twice after a reconnect).
    StreamBuilder again(commits_[1]);
    again.Define(deals);
    again.Begin(502);
    again.Insert(16430, {"2"});
    commits_.push_back(again.Begin(503));
    again.Insert(16430, {"3"});
    ASSERT_OK(StoreSegment(&store_, again.Take(), commits_[0] + 0x30).status());
    (void)one;
  }
  absl::StatusOr<RestoreResult> RestoreTo(const RecoveryTarget& target, const std::string& db) {
    auto catalog = SegmentCatalog::Load(&store_, TestStream());
    if (!catalog.ok()) return catalog.status();
    auto plan = PlanChangesRestore(&store_, *catalog, target);
    if (!plan.ok()) return plan.status();
    auto conn = Connect(db);
    RestoreOptions options;
    options.applier.batch_events = 1;  // a commit per source transaction
    return Restore(&store_, *std::move(plan), conn.get(), options);
  }
  std::string NewDealsDatabase() {
    std::string db = NewDatabase();
    Sql(db, "CREATE TABLE deals (id int PRIMARY KEY)");
    return db;
  }

  MemoryObjectStore store_;
  std::vector<uint64_t> commits_;
};

TEST_F(RestoreTest, EverythingDropsTheRepeatedTransaction) {
  std::string db = NewDealsDatabase();
  ASSERT_OK_AND_ASSIGN(RestoreResult result, RestoreTo(RecoveryTarget{}, db));
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(1)", "(2)", "(3)"));
  EXPECT_EQ(result.stats.transactions, 3u);
  EXPECT_EQ(result.stats.duplicates, 1u);
  EXPECT_FALSE(result.stopped_at_target);
}

TEST_F(RestoreTest, StopsAtLsnTimeAndXid) {
  RecoveryTarget lsn;
  lsn.kind = RecoveryTarget::Kind::kLsn;
  lsn.lsn = Lsn(commits_[1]);
  std::string db = NewDealsDatabase();
  ASSERT_OK_AND_ASSIGN(RestoreResult result, RestoreTo(lsn, db));
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(1)", "(2)"));
  EXPECT_TRUE(result.stopped_at_target);

  RecoveryTarget time;
  time.kind = RecoveryTarget::Kind::kTime;
  time.time = absl::FromUnixMicros(StreamBuilder().TimeOf(commits_[1]) - 1);
  db = NewDealsDatabase();
  ASSERT_OK(RestoreTo(time, db).status());
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(1)"));

  RecoveryTarget xid;
  xid.kind = RecoveryTarget::Kind::kXid;
  xid.xid = Xid(503);
  db = NewDealsDatabase();
  ASSERT_OK(RestoreTo(xid, db).status());
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(1)", "(2)", "(3)"));
  xid.exclusive = true;
  db = NewDealsDatabase();
  ASSERT_OK(RestoreTo(xid, db).status());
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(1)", "(2)"));
  xid.xid = Xid(502);
  db = NewDealsDatabase();
  ASSERT_OK(RestoreTo(xid, db).status());
  EXPECT_THAT(Rows(db, "deals"), ElementsAre("(1)"));
}

}  // namespace
}  // namespace walship::replay
