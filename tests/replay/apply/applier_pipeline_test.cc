// The Applier's pipeline against a real PostgreSQL: a missing row or a server error in the
// middle of a long pipeline fails at its own event without committing past it, and thousands
// of pipelined UPDATEs and DELETEs leave exactly the expected rows.
#include "replay/apply/applier.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/pg/pg_connection.h"
#include "proto/core/lsn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/replay/apply/applier_fixture.h"
#include "tests/replay/replay_test_util.h"
#include "tests/testing/status_matchers.h"

namespace walship::replay {
namespace {

using ::walship::replay::testing::MakeRelation;
using ::walship::replay::testing::StreamBuilder;
using ::walship::replay::testing::V;
using ::walship::testing::StatusIs;

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

}  // namespace
}  // namespace walship::replay
