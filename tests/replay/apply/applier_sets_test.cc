// The Applier's set path (ApplierOptions::fold_batches) against real PostgreSQL: a random
// stream of inserts, updates (with and without old rows, key changes, unchanged-TOAST
// values), deletes and re-inserts of the same keys, over a keyed table with a composite key
// and a unique secondary index and over a keyless REPLICA IDENTITY FULL table, in batches of
// several transactions, leaves the tables exactly as one statement per change does; and a
// change of a row the target does not hold is an error naming the table.
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/apply/applier.h"
#include "replay/load/base_loader.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/replay/replay_test_util.h"

namespace walship::replay::testing {
namespace {

constexpr uint32_t kDeals = 16600;
constexpr uint32_t kNotes = 16601;

v1::Relation DealsRelation() {
  return MakeRelation(kDeals, "deals",
                      {{"region", 25, "text", true},
                       {"id", 23, "int4", true},
                       {"code", 25, "text"},
                       {"amount", 1700, "numeric"},
                       {"body", 25, "text"}});
}

class ApplierSetsTest : public ReplayPgTest {
 protected:
  void CreateTables(const std::string& db) {
    Sql(db,
        "CREATE TABLE deals (region text, id int, code text NOT NULL, amount numeric, "
        "body text, PRIMARY KEY (region, id));"
        "CREATE UNIQUE INDEX deals_code ON deals (code);"
        "CREATE TABLE notes (who text, what text);"
        "ALTER TABLE notes REPLICA IDENTITY FULL;"
        "INSERT INTO deals SELECT 'r' || (i % 3), i, 'c' || i, i * 1.5, repeat('b', i % 50) "
        "FROM generate_series(1, 300) i;"
        "INSERT INTO notes SELECT 'w' || (i % 7), 'n' || (i % 5) FROM generate_series(1, 100) i");
  }

  // The stream: `transactions` of 1-12 changes each; mirrors what the tables hold.
  std::vector<v1::Record> RandomStream(int transactions, uint32_t seed) {
    std::mt19937 random(seed);
    struct Deal {
      std::string code, amount, body;
    };
    std::map<std::pair<std::string, int>, Deal> deals;
    for (int i = 1; i <= 300; ++i) {
      deals[{absl::StrCat("r", i % 3), i}] = {absl::StrCat("c", i), absl::StrCat(i * 1.5),
                                              std::string(i % 50, 'b')};
    }
    std::multiset<std::pair<std::string, std::string>> notes;
    for (int i = 1; i <= 100; ++i)
      notes.insert({absl::StrCat("w", i % 7), absl::StrCat("n", i % 5)});
    StreamBuilder b;
    int next_id = 1000, next_code = 5000;
    auto pick = [&]() {
      auto it = deals.begin();
      std::advance(it, random() % deals.size());
      return it;
    };
    for (int t = 0; t < transactions; ++t) {
      b.Begin(2000 + t);
      if (t == 0) {
        b.Define(DealsRelation());
        b.Define(MakeRelation(kNotes, "notes", {{"who", 25, "text"}, {"what", 25, "text"}},
                              v1::REPLICA_IDENTITY_FULL));
      }
      const int changes = 1 + random() % 12;
      for (int c = 0; c < changes; ++c) {
        const int kind = random() % 10;
        if (kind == 0) {  // keyless table: insert or delete one copy
          if (random() % 2 == 0 || notes.empty()) {
            std::pair<std::string, std::string> row{absl::StrCat("w", random() % 7), "added"};
            notes.insert(row);
            b.Insert(kNotes, {row.first, row.second});
          } else {
            auto it = notes.begin();
            std::advance(it, random() % notes.size());
            b.Delete(kNotes, {it->first, it->second});
            notes.erase(it);
          }
        } else if (kind <= 3 || deals.size() < 50) {  // insert a new key
          std::pair<std::string, int> key{absl::StrCat("r", random() % 3), next_id++};
          Deal deal{absl::StrCat("c", next_code++), absl::StrCat(random() % 1000, ".25"),
                    std::string(random() % 80, 'x')};
          deals[key] = deal;
          b.Insert(kDeals,
                   {key.first, absl::StrCat(key.second), deal.code, deal.amount, deal.body});
        } else if (kind <= 6) {  // update in place: no old row, body unchanged TOAST or not
          auto it = pick();
          it->second.amount = absl::StrCat(random() % 1000, ".5");
          const bool toast = random() % 3 == 0;
          if (!toast) it->second.body = absl::StrCat("edited ", random() % 100);
          b.Update(kDeals, {it->first.first, absl::StrCat(it->first.second), it->second.code,
                            it->second.amount, toast ? V::Toast() : V(it->second.body)});
        } else if (kind == 7) {  // key change, swapping codes through a fresh one
          auto it = pick();
          std::pair<std::string, int> key{it->first.first, next_id++};
          Deal deal = it->second;
          deal.code = absl::StrCat("c", next_code++);
          b.Update(
              kDeals, {key.first, absl::StrCat(key.second), deal.code, deal.amount, deal.body},
              {it->first.first, absl::StrCat(it->first.second), V::Null(), V::Null(), V::Null()},
              /*old_is_key_only=*/true);
          deals.erase(it);
          deals[key] = deal;
        } else {  // delete, sometimes inserting the same key again with the deleted code
          auto it = pick();
          std::pair<std::string, int> key = it->first;
          Deal deal = it->second;
          b.Delete(kDeals, {key.first, absl::StrCat(key.second), V::Null(), V::Null(), V::Null()},
                   /*old_is_key_only=*/true);
          deals.erase(it);
          if (random() % 2 == 0) {
            deal.amount = "0";
            deals[key] = deal;
            b.Insert(kDeals,
                     {key.first, absl::StrCat(key.second), deal.code, deal.amount, deal.body});
          }
        }
      }
    }
    return b.Take();
  }

  void ApplyStream(const std::string& db, const std::vector<v1::Record>& records, bool sets) {
    std::unique_ptr<agent::pg::PgConnection> conn = Connect(db);
    ASSERT_OK(conn->Exec("SET session_replication_role = replica"));
    ApplierOptions options;
    options.fold_batches = sets;
    options.after_base = true;
    options.batch_events = 40;
    Applier applier(conn.get(), options);
    applier.BeginSegment();
    for (const v1::Record& record : records) {
      ASSERT_OK(record.has_relation_def() ? applier.DefineRelation(record.relation_def())
                                          : applier.Apply(record.event()));
    }
    ASSERT_OK(applier.Finish());
  }
};

TEST_F(ApplierSetsTest, SetsLeaveTheTablesAsStatementsDo) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    std::vector<v1::Record> records = RandomStream(400, seed);
    std::string by_sets = NewDatabase();
    std::string by_statements = NewDatabase();
    CreateTables(by_sets);
    CreateTables(by_statements);
    ApplyStream(by_sets, records, true);
    ApplyStream(by_statements, records, false);
    for (const char* table : {"deals", "notes"}) {
      EXPECT_EQ(Value(by_sets, TableChecksumSql(table)),
                Value(by_statements, TableChecksumSql(table)))
          << table;
    }
    // The stream changed many rows, and the two differ from the starting tables.
    EXPECT_NE(Value(by_sets, "SELECT count(*) FROM deals"), "300");
    EXPECT_NE(Value(by_sets, "SELECT count(*) FROM deals WHERE body LIKE 'edited%'"), "0");
  }
}

TEST_F(ApplierSetsTest, AChangeOfARowTheTargetLacksIsAnErrorNamingTheTable) {
  std::string db = NewDatabase();
  CreateTables(db);
  Sql(db, "DELETE FROM deals WHERE id = 7");
  StreamBuilder b;
  b.Begin(3000);
  b.Define(DealsRelation());
  b.Update(kDeals, {"r0", "6", "c6", "1", "x"});
  b.Update(kDeals, {"r1", "7", "c7", "1", "x"});
  std::unique_ptr<agent::pg::PgConnection> conn = Connect(db);
  ASSERT_OK(conn->Exec("SET session_replication_role = replica"));
  ApplierOptions options;
  options.fold_batches = true;
  options.after_base = true;
  Applier applier(conn.get(), options);
  applier.BeginSegment();
  absl::Status status;
  for (const v1::Record& record : b.Take()) {
    status = record.has_relation_def() ? applier.DefineRelation(record.relation_def())
                                       : applier.Apply(record.event());
    ASSERT_OK(status);
  }
  status = applier.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("\"public.deals\""));
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("2 rows"));
}

}  // namespace
}  // namespace walship::replay::testing
