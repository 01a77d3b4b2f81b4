// Restores from base snapshots against real PostgreSQL: full restore with changes after the
// snapshot, table-level restore beside live data, target checks, the drill, and corrupt,
// missing or tampered objects.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/catalog/base_catalog.h"
#include "replay/commands/base_commands.h"
#include "replay/plan/base_planner.h"
#include "replay/commands/base_restorer.h"
#include "replay/catalog/segment_catalog.h"
#include "tests/replay/base_test_util.h"
#include "tests/testing/memory_object_store.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/replay/replay_test_util.h"

namespace walship::replay::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using walship::testing::StatusIs;

constexpr uint64_t kFirstLsn = 0x1000000;
constexpr uint64_t kBase1Lsn = kFirstLsn + 0x80;   // after transaction 1
constexpr uint64_t kBase2Lsn = kFirstLsn + 0x280;  // after transactions 2 and 3

class BaseRestoreTest : public ReplayPgTest {
 protected:
  // The source: an enum, two tables with serial keys, a foreign key and an index. Writes
  // base 1 after transaction 1, the stream (transactions 1..3, same as the SQL run on the
  // source) and base 2 after transaction 3.
  void SetUpSource(bool with_base2 = true) {
    source_ = NewDatabase();
    Sql(source_,
        "CREATE TYPE tier AS ENUM ('free', 'pro');"
        "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, tier tier);"
        "CREATE TABLE deals (id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id), "
        "amount numeric(12,2), note text, tags text[]);"
        "CREATE INDEX deals_amount ON deals (amount);"
        "INSERT INTO customers (name, tier) SELECT 'c' || g, 'free' FROM generate_series(1, 50) g;"
        "INSERT INTO deals (customer_id, amount, note, tags) SELECT 1 + g % 50, g * 1.5, "
        "CASE WHEN g % 7 = 0 THEN NULL ELSE E'n\\t' || g END, ARRAY['a', 'b c'] "
        "FROM generate_series(1, 1000) g;");
    // Transaction 1 (before base 1): in the base, so replay must skip it.
    Sql(source_, "INSERT INTO customers (id, name, tier) VALUES (51, 'early', 'pro')");
    Sql(source_, "SELECT setval('customers_id_seq', 51)");
    ASSERT_OK_AND_ASSIGN(
        base1_, WriteBase(&store_, ConnInfo(source_), kBase1Lsn, builder_.TimeOf(kBase1Lsn)));
    customers_ = base1_.tables(0).relation();
    deals_ = base1_.tables(1).relation();
    ASSERT_EQ(customers_.table(), "customers");
    builder_.Begin(100);
    builder_.Define(customers_);
    builder_.Define(deals_);
    builder_.Insert(customers_.oid(), {"51", "early", "pro"});
    // Transaction 2: a new customer and a deal update.
    builder_.Begin(101);
    builder_.Insert(customers_.oid(), {"52", "late", "pro"});
    builder_.Update(deals_.oid(), {"3", "52", "99.00", V::Null(), "{x}"});
    Sql(source_,
        "INSERT INTO customers (id, name, tier) VALUES (52, 'late', 'pro');"
        "UPDATE deals SET customer_id = 52, amount = 99.00, note = NULL, tags = '{x}' WHERE id = "
        "3");
    // Transaction 3: the bad DELETE.
    builder_.Begin(102);
    builder_.Delete(deals_.oid(), {"10", V::Null(), V::Null(), V::Null(), V::Null()}, true);
    builder_.Delete(deals_.oid(), {"11", V::Null(), V::Null(), V::Null(), V::Null()}, true);
    Sql(source_, "DELETE FROM deals WHERE id IN (10, 11)");
    ASSERT_OK(StoreSegment(&store_, builder_.Take(), 0).status());
    if (with_base2) {
      ASSERT_OK_AND_ASSIGN(
          base2_, WriteBase(&store_, ConnInfo(source_), kBase2Lsn, builder_.TimeOf(kBase2Lsn)));
    }
  }

  absl::StatusOr<BaseRestoreResult> RestoreTo(const RecoveryTarget& target, const std::string& db,
                                              BaseRestoreOptions options = {}, int jobs = 2) {
    WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(&store_, TestStream()));
    WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog changes, SegmentCatalog::Load(&store_, TestStream()));
    WALSHIP_ASSIGN_OR_RETURN(BaseRestorePlan plan, PlanBaseRestore(bases, changes, target));
    options.jobs = jobs;
    return RestoreFromBase(&store_, TestStream(), plan, ConnInfo(db), options);
  }

  static RecoveryTarget LsnTarget(uint64_t lsn) {
    RecoveryTarget target;
    target.kind = RecoveryTarget::Kind::kLsn;
    target.lsn = Lsn(lsn);
    return target;
  }

  // Replaces a stored object with `edit` applied to its bytes.
  void Tamper(const std::string& key, size_t offset) {
    ASSERT_OK_AND_ASSIGN(std::string data, store_.Get(key));
    ASSERT_LT(offset, data.size());
    data[offset] ^= 0x5a;
    ASSERT_OK(store_.Delete(key));
    ASSERT_OK(store_.Put(key, data));
  }

  // The schema objects a restore must reproduce: index and constraint definitions.
  std::string SchemaOf(const std::string& db) {
    return Value(db,
                 "SELECT string_agg(indexname || ': ' || indexdef, E'\\n' ORDER BY indexname) || "
                 "E'\\n' || (SELECT string_agg(conname || ': ' || pg_get_constraintdef(oid) || "
                 "' valid=' || convalidated, E'\\n' ORDER BY conname) FROM pg_constraint WHERE "
                 "connamespace = 'public'::regnamespace) FROM pg_indexes WHERE schemaname = "
                 "'public'");
  }

  ::walship::testing::MemoryObjectStore store_;
  StreamBuilder builder_{kFirstLsn};
  std::string source_;
  v1::BaseManifest base1_, base2_;
  v1::Relation customers_, deals_;
};

TEST_F(BaseRestoreTest, RestoresBaseAndLaterChangesIntoAnEmptyDatabase) {
  SetUpSource(/*with_base2=*/false);
  std::string target = NewDatabase();
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult result, RestoreTo(RecoveryTarget(), target));
  ASSERT_EQ(result.tables.size(), 2u);
  EXPECT_EQ(result.changes.stats.transactions, 2u);  // transaction 1 is in the base
  EXPECT_EQ(Rows(target, "customers"), Rows(source_, "customers"));
  EXPECT_EQ(Rows(target, "deals"), Rows(source_, "deals"));
  // Secondary index and foreign key came from post-data; sequences moved past the rows.
  EXPECT_EQ(Value(target, "SELECT count(*) FROM pg_indexes WHERE indexname = 'deals_amount'"), "1");
  EXPECT_EQ(Value(target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"), "1");
  EXPECT_EQ(Value(target, "SELECT nextval('customers_id_seq')"), "53");
}

TEST_F(BaseRestoreTest, FoldedRestoreEqualsTheStatementRestoreAndTheSource) {
  SetUpSource(/*with_base2=*/false);
  std::string folded = NewDatabase();
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult result, RestoreTo(RecoveryTarget(), folded));
  EXPECT_EQ(result.folded_events, 4u);  // all of transactions 2 and 3
  EXPECT_EQ(result.changes.stats.transactions, 2u);
  EXPECT_EQ(result.changes.stats.events, 4u);
  EXPECT_EQ(result.tables[1].rows, 998u);  // deals: 1000 base rows less the two deleted
  EXPECT_EQ(result.tables[1].base_rows, 1000u);
  BaseRestoreOptions no_fold;
  no_fold.fold_memory_bytes = 0;
  std::string statements = NewDatabase();
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult applied, RestoreTo(RecoveryTarget(), statements, no_fold));
  EXPECT_EQ(applied.folded_events, 0u);
  EXPECT_EQ(applied.changes.stats.events, 4u);
  for (const char* table : {"customers", "deals"}) {
    EXPECT_EQ(Rows(folded, table), Rows(source_, table)) << table;
    EXPECT_EQ(Rows(statements, table), Rows(source_, table)) << table;
  }
  // Keys split into index build + constraint, secondary indexes and the foreign key: the
  // same definitions as the source, all valid.
  EXPECT_EQ(SchemaOf(folded), SchemaOf(source_));
  EXPECT_EQ(SchemaOf(statements), SchemaOf(source_));
  EXPECT_EQ(Value(folded, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "0");
  EXPECT_EQ(Value(folded, "SELECT nextval('customers_id_seq')"), "53");
}

// A foreign key goes in while its table is still empty when the table it references is
// loaded with its key (one job: the larger referenced table loads first), and is not checked
// again; the catalog ends as the source's, and the key is in force afterwards.
TEST_F(BaseRestoreTest, AForeignKeyGoesInBeforeItsTableLoadsOnceTheReferencedKeyIsBuilt) {
  source_ = NewDatabase();
  Sql(source_,
      "CREATE TABLE accounts (id int PRIMARY KEY, name text);"
      "CREATE TABLE notes (id int PRIMARY KEY, account_id int REFERENCES accounts(id), body text);"
      "INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 2000) g;"
      "INSERT INTO notes SELECT g, g, 'n' || g FROM generate_series(1, 10) g;");
  ASSERT_OK_AND_ASSIGN(
      base1_, WriteBase(&store_, ConnInfo(source_), kBase1Lsn, builder_.TimeOf(kBase1Lsn)));
  v1::Relation accounts, notes;
  for (const v1::BaseTable& table : base1_.tables()) {
    (table.relation().table() == "accounts" ? accounts : notes) = table.relation();
  }
  ASSERT_EQ(notes.table(), "notes");
  builder_.Begin(100);  // before the base
  builder_.Begin(101);
  builder_.Define(accounts);
  builder_.Define(notes);
  builder_.Insert(accounts.oid(), {"2001", "late"});
  builder_.Insert(notes.oid(), {"11", "2001", "late"});
  Sql(source_,
      "INSERT INTO accounts VALUES (2001, 'late'); INSERT INTO notes VALUES (11, 2001, "
      "'late')");
  ASSERT_OK(StoreSegment(&store_, builder_.Take(), 0).status());

  std::string target = NewDatabase();
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult result, RestoreTo(RecoveryTarget(), target, {}, 1));
  EXPECT_EQ(result.folded_events, 2u);
  EXPECT_EQ(result.foreign_keys_added_early, 1u);
  for (const char* table : {"accounts", "notes"}) {
    EXPECT_EQ(Rows(target, table), Rows(source_, table)) << table;
  }
  EXPECT_EQ(SchemaOf(target), SchemaOf(source_));
  EXPECT_EQ(Value(target, "SELECT convalidated FROM pg_constraint WHERE contype = 'f'"), "t");
  auto refused = Connect(target)->Exec("INSERT INTO notes VALUES (12, 99999, 'orphan')");
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("notes_account_id_fkey"));

  // Without folding nothing goes in early: the key is added and validated after the load.
  BaseRestoreOptions no_fold;
  no_fold.fold_memory_bytes = 0;
  std::string statements = NewDatabase();
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult applied,
                       RestoreTo(RecoveryTarget(), statements, no_fold, 1));
  EXPECT_EQ(applied.foreign_keys_added_early, 0u);
  EXPECT_EQ(SchemaOf(statements), SchemaOf(source_));
}

TEST_F(BaseRestoreTest, ATruncateFoldsAndTheTableLoadsOnlyWhatCameAfterIt) {
  SetUpSource(/*with_base2=*/false);
  ASSERT_OK_AND_ASSIGN(SegmentCatalog first, SegmentCatalog::Load(&store_, TestStream()));
  // Transaction 4 folds; transaction 5 updates a customer and truncates deals (folded: deals
  // folds anew without its base rows); transaction 6 inserts a deal after it.
  builder_.Begin(103);
  builder_.Define(customers_);
  builder_.Define(deals_);
  builder_.Update(deals_.oid(), {"5", "6", "8.00", "n\t5", "{a,\"b c\"}"});
  Sql(source_, "UPDATE deals SET amount = 8.00 WHERE id = 5");
  builder_.Begin(104);
  builder_.Update(customers_.oid(), {"1", "renamed", "free"});
  builder_.Truncate({deals_.oid()});
  Sql(source_, "BEGIN; UPDATE customers SET name = 'renamed' WHERE id = 1; TRUNCATE deals; COMMIT");
  builder_.Begin(105);
  builder_.Insert(deals_.oid(), {"2000", "52", "1.00", V::Null(), "{}"});
  Sql(source_, "INSERT INTO deals VALUES (2000, 52, 1.00, NULL, '{}')");
  ASSERT_OK(StoreSegment(&store_, builder_.Take(), first.segments().back().trailer.last_end_lsn())
                .status());

  std::string target = NewDatabase();
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult result, RestoreTo(RecoveryTarget(), target));
  EXPECT_EQ(result.folded_events, 8u);               // every change, the TRUNCATE included
  EXPECT_EQ(result.changes.stats.transactions, 5u);  // transaction 5 counted once
  EXPECT_EQ(result.changes.stats.events, 8u);
  EXPECT_EQ(Rows(target, "customers"), Rows(source_, "customers"));
  EXPECT_EQ(Rows(target, "deals"), Rows(source_, "deals"));
  EXPECT_EQ(SchemaOf(target), SchemaOf(source_));

  // Stopping inside the folded part leaves the truncate out.
  std::string before = NewDatabase();
  uint64_t t4 = first.segments().back().trailer.last_commit_lsn() + 0x100;
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult stopped, RestoreTo(LsnTarget(t4), before));
  EXPECT_EQ(stopped.folded_events, 5u);
  EXPECT_TRUE(stopped.changes.stopped_at_target);
  EXPECT_EQ(Value(before, "SELECT amount FROM deals WHERE id = 5"), "8.00");
  EXPECT_EQ(Value(before, "SELECT count(*) FROM deals"), "998");
  EXPECT_EQ(Value(before, "SELECT name FROM customers WHERE id = 1"), "c1");
}

TEST_F(BaseRestoreTest, AFoldedChangeOfARowTheBaseLacksIsRefusedNamingIt) {
  SetUpSource(/*with_base2=*/false);
  ASSERT_OK_AND_ASSIGN(SegmentCatalog first, SegmentCatalog::Load(&store_, TestStream()));
  builder_.Begin(103);
  builder_.Define(deals_);
  builder_.Update(deals_.oid(), {"77777", "6", "8.00", V::Null(), "{}"});
  ASSERT_OK(StoreSegment(&store_, builder_.Take(), first.segments().back().trailer.last_end_lsn())
                .status());
  std::string target = NewDatabase();
  EXPECT_THAT(RestoreTo(RecoveryTarget(), target),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("UPDATE of \"public.deals\""), HasSubstr("(id)=(77777)"),
                             HasSubstr("no such row in the base snapshot"))));
}

TEST_F(BaseRestoreTest, TableSplitOverSeveralCopyStreamsEqualsTheSource) {
  SetUpSource(/*with_base2=*/false);
  ASSERT_GE(base1_.tables(1).object_keys_size(), 3);  // deals: several base objects
  std::string target = NewDatabase();
  BaseRestoreOptions options;
  options.split_table_bytes = 0;  // split any table
  ASSERT_OK_AND_ASSIGN(BaseRestoreResult result,
                       RestoreTo(RecoveryTarget(), target, options, /*jobs=*/4));
  ASSERT_EQ(result.tables.size(), 2u);
  EXPECT_EQ(result.tables[1].base_rows, 1000u);
  EXPECT_EQ(result.tables[1].rows, 998u);  // the window's two deletes folded into the load
  EXPECT_EQ(Rows(target, "customers"), Rows(source_, "customers"));
  EXPECT_EQ(Rows(target, "deals"), Rows(source_, "deals"));
  // Spare jobs went to deals: its base rows came in over several transactions at once.
  EXPECT_GE(std::stoi(Value(target, "SELECT count(DISTINCT xmin::text) FROM deals WHERE id <> 3")),
            3);
  // Keys, secondary index and foreign key were built after the load.
  EXPECT_EQ(Value(target,
                  "SELECT count(*) FROM pg_constraint WHERE contype IN ('p', 'f') AND "
                  "connamespace = 'public'::regnamespace"),
            "3");
  EXPECT_EQ(Value(target, "SELECT count(*) FROM pg_indexes WHERE indexname = 'deals_amount'"), "1");
  EXPECT_EQ(Value(target, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "0");
}

TEST_F(BaseRestoreTest, StopsAtTheTargetBeforeTheBadDelete) {
  SetUpSource(/*with_base2=*/false);
  std::string target = NewDatabase();
  ASSERT_OK(RestoreTo(LsnTarget(kFirstLsn + 0x100), target).status());
  EXPECT_EQ(Value(target, "SELECT count(*) FROM deals WHERE id IN (10, 11)"), "2");
  EXPECT_EQ(Value(target, "SELECT amount FROM deals WHERE id = 3"), "99.00");
}

TEST_F(BaseRestoreTest, RefusesANonEmptyTargetUnlessForced) {
  SetUpSource(/*with_base2=*/false);
  std::string target = NewDatabase();
  ASSERT_OK(RestoreTo(RecoveryTarget(), target).status());
  Sql(target, "INSERT INTO customers (id, name) VALUES (999, 'stray')");
  absl::StatusOr<BaseRestoreResult> again = RestoreTo(RecoveryTarget(), target);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("is not empty"));
  EXPECT_THAT(again.status().message(), HasSubstr("--force"));
  BaseRestoreOptions force;
  force.force = true;
  ASSERT_OK(RestoreTo(RecoveryTarget(), target, force).status());
  EXPECT_EQ(Rows(target, "customers"), Rows(source_, "customers"));
  EXPECT_EQ(Rows(target, "deals"), Rows(source_, "deals"));
}

TEST_F(BaseRestoreTest, TableLevelRestoreTouchesNothingElse) {
  SetUpSource(/*with_base2=*/false);
  std::string live = NewDatabase();
  ASSERT_OK(RestoreTo(RecoveryTarget(), live).status());
  Sql(live, "DELETE FROM deals WHERE id > 500");  // the bad DELETE at the live side
  std::vector<std::string> customers_before = Rows(live, "customers");
  std::vector<std::string> deals_before = Rows(live, "deals");
  std::string catalog_before = Value(live, "SELECT count(*) FROM pg_class");
  BaseRestoreOptions options;
  options.tables = {"deals"};
  options.into_schema = "restored";
  ASSERT_OK(RestoreTo(LsnTarget(kFirstLsn + 0x100), live, options).status());
  EXPECT_EQ(Rows(live, "customers"), customers_before);
  EXPECT_EQ(Rows(live, "deals"), deals_before);
  EXPECT_EQ(Value(live, "SELECT count(*) FROM restored.deals"), "1000");
  EXPECT_EQ(Value(live, "SELECT amount FROM restored.deals WHERE id = 3"), "99.00");
  EXPECT_EQ(Value(live, "SELECT count(*) FROM pg_tables WHERE schemaname = 'restored'"), "1");
  // Only the new table (and its key index and toast objects) were added.
  EXPECT_NE(Value(live, "SELECT count(*) FROM pg_class"), catalog_before);
}

TEST_F(BaseRestoreTest, DrillRestoresThePreviousBaseAndMatchesTheLatest) {
  SetUpSource();
  std::string scratch = NewDatabase();
  ASSERT_OK_AND_ASSIGN(DrillReport report, RunDrill(&store_, TestStream(), ConnInfo(scratch), {}));
  EXPECT_TRUE(report.equal) << absl::StrJoin(report.lines, "");
  std::string text = absl::StrJoin(report.lines, "");
  EXPECT_THAT(text, HasSubstr("public.deals"));
  EXPECT_THAT(text, HasSubstr("998 rows  equal"));
}

TEST_F(BaseRestoreTest, DrillAlsoRestoresToATimeAndReportsRows) {
  SetUpSource();
  std::string scratch = NewDatabase();
  DrillOptions options;
  options.to_time = absl::FromUnixMicros(builder_.TimeOf(kFirstLsn + 0x100));
  ASSERT_OK_AND_ASSIGN(DrillReport report,
                       RunDrill(&store_, TestStream(), ConnInfo(scratch), options));
  EXPECT_TRUE(report.equal);
  std::string text = absl::StrJoin(report.lines, "\n");
  EXPECT_THAT(text, HasSubstr("restored to "));
  EXPECT_THAT(text, HasSubstr("(1 transactions after it)"));
  // Before the bad DELETE: all 1000 deals.
  EXPECT_EQ(Value(scratch, "SELECT count(*) FROM deals"), "1000");
  EXPECT_EQ(Value(scratch, "SELECT count(*) FROM customers"), "52");
}

TEST_F(BaseRestoreTest, DrillWithOneBaseSaysSo) {
  SetUpSource(/*with_base2=*/false);
  std::string scratch = NewDatabase();
  ASSERT_OK_AND_ASSIGN(DrillReport report, RunDrill(&store_, TestStream(), ConnInfo(scratch), {}));
  EXPECT_TRUE(report.equal);
  EXPECT_THAT(report.lines[0], HasSubstr("only one base snapshot"));
}

TEST_F(BaseRestoreTest, DrillRefusesANonEmptyScratchDatabase) {
  SetUpSource();
  absl::StatusOr<DrillReport> report = RunDrill(&store_, TestStream(), ConnInfo(source_), {});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("not empty"));
}

TEST_F(BaseRestoreTest, DrillFailsWhenTheChangesDoNotReachTheLatestChecksums) {
  SetUpSource();
  // Base 2 as the source saw it, but one table's checksum differs.
  std::string key = sinks::BaseManifestKey(TestStream(), Lsn(kBase2Lsn));
  v1::BaseManifest changed = base2_;
  ASSERT_FALSE(changed.tables(1).row_digest().empty());
  changed.mutable_tables(1)->set_row_digest("00000000000000000000000000000000");
  ASSERT_OK(store_.Delete(key));
  ASSERT_OK(store_.Put(key, changed.SerializeAsString()));
  std::string scratch = NewDatabase();
  ASSERT_OK_AND_ASSIGN(DrillReport report, RunDrill(&store_, TestStream(), ConnInfo(scratch), {}));
  EXPECT_FALSE(report.equal);
  EXPECT_THAT(absl::StrJoin(report.lines, ""), HasSubstr("public.deals"));
  EXPECT_THAT(absl::StrJoin(report.lines, ""), HasSubstr("DIFFERENT"));
}

TEST_F(BaseRestoreTest, DrillNamesATamperedChangeSegment) {
  SetUpSource();
  ASSERT_OK_AND_ASSIGN(std::vector<sinks::ObjectInfo> wal,
                       store_.List(absl::StrCat(TestStream().Prefix(), "wal/")));
  ASSERT_EQ(wal.size(), 1u);
  Tamper(wal[0].key, wal[0].size / 2);
  std::string scratch = NewDatabase();
  absl::StatusOr<DrillReport> report = RunDrill(&store_, TestStream(), ConnInfo(scratch), {});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr(wal[0].key));
}

TEST_F(BaseRestoreTest, DrillNamesATamperedBaseSegment) {
  SetUpSource();
  const std::string& key = base1_.tables(1).object_keys(1);
  ASSERT_OK_AND_ASSIGN(std::string data, store_.Get(key));
  Tamper(key, data.size() / 2);
  std::string scratch = NewDatabase();
  absl::StatusOr<DrillReport> report = RunDrill(&store_, TestStream(), ConnInfo(scratch), {});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr(key));
}

TEST_F(BaseRestoreTest, MissingBaseObjectIsNamed) {
  SetUpSource(/*with_base2=*/false);
  const std::string& key = base1_.tables(1).object_keys(2);
  ASSERT_OK(store_.Delete(key));
  std::string target = NewDatabase();
  absl::StatusOr<BaseRestoreResult> result = RestoreTo(RecoveryTarget(), target);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr(key));
}

TEST_F(BaseRestoreTest, CorruptManifestIsNamed) {
  SetUpSource(/*with_base2=*/false);
  std::string key = sinks::BaseManifestKey(TestStream(), Lsn(kBase1Lsn));
  ASSERT_OK(store_.Delete(key));
  ASSERT_OK(store_.Put(key, "\xff\xff\xff not a manifest"));
  absl::StatusOr<BaseCatalog> bases = BaseCatalog::Load(&store_, TestStream());
  EXPECT_EQ(bases.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(bases.status().message(), HasSubstr(key));
}

TEST_F(BaseRestoreTest, ManifestChecksumMismatchIsRefusedWithCheckBase) {
  SetUpSource(/*with_base2=*/false);
  std::string key = sinks::BaseManifestKey(TestStream(), Lsn(kBase1Lsn));
  v1::BaseManifest changed = base1_;
  changed.mutable_tables(0)->set_checksum("ffffffffffffffffffffffffffffffff");
  ASSERT_OK(store_.Delete(key));
  ASSERT_OK(store_.Put(key, changed.SerializeAsString()));
  BaseRestoreOptions options;
  options.check_base = true;
  std::string target = NewDatabase();
  absl::StatusOr<BaseRestoreResult> result = RestoreTo(RecoveryTarget(), target, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("public.customers"));
  EXPECT_THAT(result.status().message(), HasSubstr(key));
}

TEST_F(BaseRestoreTest, ManifestRowDigestMismatchIsRefusedWithCheckBase) {
  SetUpSource(/*with_base2=*/false);
  std::string key = sinks::BaseManifestKey(TestStream(), Lsn(kBase1Lsn));
  BaseRestoreOptions options;
  options.check_base = true;
  // As stored, every table passes (row digests and checksums alike).
  ASSERT_OK(RestoreTo(RecoveryTarget(), NewDatabase(), options).status());
  v1::BaseManifest changed = base1_;
  ASSERT_GE(changed.tables_size(), 2);
  ASSERT_FALSE(changed.tables(1).row_digest().empty());
  std::string digest = changed.tables(1).row_digest();
  digest[31] = digest[31] == '0' ? '1' : '0';  // one bit of one sum
  changed.mutable_tables(1)->set_row_digest(digest);
  ASSERT_OK(store_.Delete(key));
  ASSERT_OK(store_.Put(key, changed.SerializeAsString()));
  absl::StatusOr<BaseRestoreResult> result = RestoreTo(RecoveryTarget(), NewDatabase(), options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr(changed.tables(1).relation().table()));
  EXPECT_THAT(result.status().message(), HasSubstr(digest));
}

TEST_F(BaseRestoreTest, IncompleteBaseIsIgnoredAndListed) {
  SetUpSource(/*with_base2=*/false);
  ASSERT_OK(store_.Put(
      sinks::BaseSegmentKey(TestStream(), Lsn(kBase2Lsn), "public", "customers", 0), "partial"));
  ASSERT_OK_AND_ASSIGN(BaseCatalog bases, BaseCatalog::Load(&store_, TestStream()));
  ASSERT_EQ(bases.bases().size(), 1u);
  ASSERT_EQ(bases.incomplete().size(), 1u);
  ASSERT_OK_AND_ASSIGN(SegmentCatalog changes, SegmentCatalog::Load(&store_, TestStream()));
  std::string listing = FormatBaseListing(bases, changes);
  EXPECT_THAT(listing, HasSubstr("no manifest"));
  EXPECT_THAT(listing, HasSubstr("tables 2  rows 1051"));
  EXPECT_THAT(listing, HasSubstr("earliest:"));
}

}  // namespace
}  // namespace walship::replay::testing
