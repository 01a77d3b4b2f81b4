// Applier and Restore against a real PostgreSQL: values of many types come back as the
// exact text the stream carried; REPLICA IDENTITY FULL without a key; mid-stream ADD
// COLUMN; target checks; duplicates; failures inside a long pipeline; thousands of
// pipelined changes; recovery targets.
#include "replay/apply/applier.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/lsn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/plan/restore_planner.h"
#include "replay/plan/target_resolver.h"
#include "replay/apply/restorer.h"
#include "replay/catalog/segment_catalog.h"
#include "tests/testing/memory_object_store.h"
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

class ApplierTest : public testing::ReplayPgTest {
 protected:
  // Applies the builder's records as one segment through the Applier.
  absl::Status ApplyAll(agent::pg::PgConnection* conn, const std::vector<v1::Record>& records,
                        ApplierOptions options = {}) {
    Applier applier(conn, options);
    applier.BeginSegment();
    for (const v1::Record& record : records) {
      absl::Status status = record.has_relation_def()
                                ? applier.DefineRelation(record.relation_def())
                                : applier.Apply(record.event());
      if (!status.ok()) return status;
    }
    last_stats_ = applier.stats();
    return applier.Finish();
  }
  ApplierStats last_stats_;
};

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

// A stream for the pipeline failure tests: xid 1400 inserts rows 1..3000 of "items"; xid
// 1401 updates each of them in turn, with `missing_at` (if > 0) updating a row that does not
// exist instead, and `bad_at` (if > 0) setting the integer column to "x".
struct ItemsStream {
  std::vector<v1::Record> records;
  uint64_t first_commit = 0;
  uint64_t second_commit = 0;
};

ItemsStream MakeItemsStream(uint32_t missing_at, uint32_t bad_at) {
  constexpr int kRows = 3000;
  ItemsStream out;
  StreamBuilder b;
  b.Define(MakeRelation(16440, "items",
                        {{"id", 23, "int4", true}, {"n", 23, "int4"}, {"v", 25, "text"}}));
  out.first_commit = b.Begin(1400);
  for (int i = 1; i <= kRows; ++i) b.Insert(16440, {absl::StrCat(i), "0", absl::StrCat("a", i)});
  out.second_commit = b.Begin(1401);
  for (uint32_t sequence = 1; sequence <= kRows; ++sequence) {
    std::string id = sequence == missing_at ? "99999" : absl::StrCat(sequence);
    std::string n = sequence == bad_at ? "x" : "1";
    b.Update(16440, {id, n, absl::StrCat("b", sequence)});
  }
  out.records = b.Take();
  return out;
}

// Applies `records` with one commit per source transaction; returns the first error (the
// Applier must keep returning it, and must not commit after it).
absl::Status ApplyUntilError(agent::pg::PgConnection* conn, const std::vector<v1::Record>& records,
                             uint64_t* committed) {
  ApplierOptions options;
  options.batch_events = 1;
  Applier applier(conn, options);
  applier.BeginSegment();
  absl::Status first;
  for (const v1::Record& record : records) {
    first = record.has_relation_def() ? applier.DefineRelation(record.relation_def())
                                      : applier.Apply(record.event());
    if (!first.ok()) break;
  }
  if (first.ok()) first = applier.Finish();
  EXPECT_EQ(applier.Finish(), first) << "a later call lost the first error";
  *committed = applier.stats().committed_commit_lsn.value();
  return first;
}

TEST_F(ApplierTest, MissingRowInTheMiddleOfALongPipelineFailsAtItsEvent) {
  std::string db = NewDatabase();
  Sql(db, "CREATE TABLE items (id int PRIMARY KEY, n int, v text)");
  // Event 1700 updates a missing row; event 1701, sent before the result of 1700 is read,
  // fails on the server: that later error must not replace the first one.
  ItemsStream stream = MakeItemsStream(/*missing_at=*/1700, /*bad_at=*/1701);
  uint64_t committed = 0;
  {
    auto conn = Connect(db);
    EXPECT_THAT(
        ApplyUntilError(conn.get(), stream.records, &committed),
        StatusIs(absl::StatusCode::kDataLoss,
                 absl::StrFormat("UPDATE of \"public.items\" at commit LSN %s (xid 1401, event "
                                 "1700): row not found in the target; the target does not "
                                 "match the stream",
                                 Lsn(stream.second_commit).ToString())));
  }
  EXPECT_EQ(committed, stream.first_commit);
  // The inserts were committed, none of the updates.
  EXPECT_EQ(Value(db, "SELECT count(*) FROM items"), "3000");
  EXPECT_EQ(Value(db, "SELECT count(*) FROM items WHERE n = 0 AND v = 'a' || id"), "3000");
}

TEST_F(ApplierTest, ServerErrorInTheMiddleOfALongPipelineNamesItsEvent) {
  std::string db = NewDatabase();
  Sql(db, "CREATE TABLE items (id int PRIMARY KEY, n int, v text)");
  ItemsStream stream = MakeItemsStream(/*missing_at=*/0, /*bad_at=*/2222);
  uint64_t committed = 0;
  {
    auto conn = Connect(db);
    EXPECT_THAT(
        ApplyUntilError(conn.get(), stream.records, &committed),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 absl::StrFormat("UPDATE of \"public.items\" at commit LSN %s (xid 1401, "
                                 "event 2222): ERROR:  invalid input syntax for type integer: "
                                 "\"x\"",
                                 Lsn(stream.second_commit).ToString())));
  }
  EXPECT_EQ(committed, stream.first_commit);
  EXPECT_EQ(Value(db, "SELECT count(*) FROM items WHERE n = 0 AND v = 'a' || id"), "3000");
}

// Thousands of UPDATEs (some changing the key, some leaving a TOAST value unchanged) and
// DELETEs over a keyed table and a REPLICA IDENTITY FULL one, with INSERTs by COPY and
// commits in between; the rows read back are exactly those of a model of the changes, with
// a deep pipeline and with one of a few statements.
TEST_F(ApplierTest, ThousandsOfPipelinedUpdatesAndDeletesLeaveExactlyTheExpectedRows) {
  constexpr uint32_t kAccounts = 16450, kLog = 16451;
  StreamBuilder b;
  b.Define(MakeRelation(kAccounts, "accounts",
                        {{"id", 23, "int4", true}, {"balance", 23, "int4"}, {"note", 25, "text"}}));
  b.Define(MakeRelation(kLog, "log", {{"k", 23, "int4"}, {"msg", 25, "text"}},
                        v1::REPLICA_IDENTITY_FULL));
  std::map<int, std::pair<int, std::string>> accounts;  // id -> (balance, note)
  std::multiset<std::pair<int, std::string>> log;
  auto account_row = [](int id, int balance, const std::string& note) {
    return std::vector<V>{absl::StrCat(id), absl::StrCat(balance), note};
  };
  uint32_t xid = 2000;
  b.Begin(xid++);
  int next_id = 1;
  for (; next_id <= 2000; ++next_id) {
    accounts[next_id] = {100, absl::StrCat("n", next_id)};
    b.Insert(kAccounts, account_row(next_id, 100, absl::StrCat("n", next_id)));
  }
  for (int k = 1; k <= 300; ++k) {
    log.insert({k % 100, "m"});
    b.Insert(kLog, {absl::StrCat(k % 100), "m"});
  }
  std::mt19937 rng(7);
  auto any_account = [&]() {
    auto it = accounts.lower_bound(static_cast<int>(rng() % next_id));
    return it == accounts.end() ? accounts.begin() : it;
  };
  int updates = 0, deletes = 0;
  for (int txn = 0; txn < 6; ++txn) {
    b.Begin(xid++);
    for (int i = 0; i < 700; ++i) {
      uint32_t pick = rng() % 100;
      auto it = any_account();
      int id = it->first;
      auto& [balance, note] = it->second;
      if (pick < 45) {  // balance and note change
        balance += 1 + static_cast<int>(pick);
        note = absl::StrCat("u", txn, "_", i);
        b.Update(kAccounts, account_row(id, balance, note));
        ++updates;
      } else if (pick < 60) {  // the note is an unchanged TOAST value
        balance -= 3;
        b.Update(kAccounts, {absl::StrCat(id), absl::StrCat(balance), V::Toast()});
        ++updates;
      } else if (pick < 70) {  // the key changes: the old key comes along
        int new_id = next_id++;
        accounts[new_id] = it->second;
        b.Update(kAccounts, account_row(new_id, balance, note),
                 {absl::StrCat(id), V::Null(), V::Null()},
                 /*old_is_key_only=*/true);
        accounts.erase(id);
        ++updates;
      } else if (pick < 88) {
        b.Delete(kAccounts, {absl::StrCat(id), V::Null(), V::Null()}, /*old_is_key_only=*/true);
        accounts.erase(id);
        ++deletes;
      } else if (pick < 94 && !log.empty()) {  // one of identical rows, by the whole row
        auto entry = std::next(log.begin(), static_cast<long>(rng() % log.size()));
        std::pair<int, std::string> row = *entry;
        log.erase(entry);
        if (pick % 2 == 0) {
          b.Delete(kLog, {absl::StrCat(row.first), row.second});
          ++deletes;
        } else {
          std::pair<int, std::string> changed = {row.first + 1000, absl::StrCat("t", txn)};
          log.insert(changed);
          b.Update(kLog, {absl::StrCat(changed.first), changed.second},
                   {absl::StrCat(row.first), row.second});
          ++updates;
        }
      } else {  // a new row by COPY in the middle of the pipelined changes
        int new_id = next_id++;
        accounts[new_id] = {5, "new"};
        b.Insert(kAccounts, account_row(new_id, 5, "new"));
      }
    }
  }
  ASSERT_GE(updates + deletes, 3000);
  std::vector<std::string> want_accounts, want_log;
  for (const auto& [id, value] : accounts) {
    want_accounts.push_back(absl::StrFormat("(%d,%d,%s)", id, value.first, value.second));
  }
  for (const auto& [k, msg] : log) want_log.push_back(absl::StrFormat("(%d,%s)", k, msg));
  std::sort(want_accounts.begin(), want_accounts.end());
  std::sort(want_log.begin(), want_log.end());
  std::vector<v1::Record> records = b.Take();

  for (uint64_t depth : {uint64_t{1000}, uint64_t{7}}) {
    SCOPED_TRACE(absl::StrCat("pipeline depth ", depth));
    std::string db = NewDatabase();
    Sql(db,
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int, note text);"
        "CREATE TABLE log (k int, msg text); ALTER TABLE log REPLICA IDENTITY FULL");
    ApplierOptions options;
    options.batch_events = 1500;
    options.pipeline_depth = depth;
    auto conn = Connect(db);
    ASSERT_OK(ApplyAll(conn.get(), records, options));
    EXPECT_EQ(last_stats_.transactions, 7u);
    EXPECT_EQ(Rows(db, "accounts"), want_accounts);
    EXPECT_EQ(Rows(db, "log"), want_log);
  }
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
