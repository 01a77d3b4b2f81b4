// walship.ddl messages applied to a real PostgreSQL target: add column with default,
// rename, drop column, alter type, defaults, new and dropped tables; and through the applier
// at their place in the stream.
#include "replay/apply/ddl_applier.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/apply/applier.h"
#include "tests/replay/replay_pg_fixture.h"
#include "tests/replay/replay_test_util.h"

namespace walship::replay::testing {
namespace {

using ::testing::HasSubstr;

class DdlApplierTest : public ReplayPgTest {
 protected:
  void SetUp() override {
    db_ = NewDatabase();
    Sql(db_,
        "CREATE TABLE deals (id int PRIMARY KEY, amount numeric(12,2), note text);"
        "INSERT INTO deals VALUES (1, 10.50, 'a'), (2, 20.25, NULL)");
    conn_ = Connect(db_);
  }
  std::string Columns(const std::string& table) {
    return Value(db_, "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || "
                      "coalesce(' default ' || pg_get_expr(adbin, adrelid), '') || CASE WHEN "
                      "attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum) FROM "
                      "pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum "
                      "WHERE attrelid = '" + table + "'::regclass AND attnum > 0 AND NOT attisdropped");
  }
  std::string db_;
  std::unique_ptr<agent::pg::PgConnection> conn_;
};

constexpr char kAddColumn[] = R"json({"tag": "ALTER TABLE", "query": "ALTER TABLE deals ADD COLUMN stage text NOT NULL DEFAULT 'new'; INSERT INTO x VALUES (1)",
  "tables": [{"oid": 16390, "schema": "public", "table": "deals", "dropped": false,
    "columns": [{"attnum": 1, "name": "id", "type": "integer", "not_null": true, "default": null},
                {"attnum": 2, "name": "amount", "type": "numeric(12,2)", "not_null": false, "default": null},
                {"attnum": 3, "name": "note", "type": "text", "not_null": false, "default": null},
                {"attnum": 4, "name": "stage", "type": "text", "not_null": true, "default": "'new'::text"}],
    "primary_key": ["id"], "replica_identity": "d"}]})json";

constexpr char kRenameRetypeDrop[] = R"json({"tag": "ALTER TABLE", "query": "...",
  "tables": [{"oid": 16390, "schema": "public", "table": "opportunities", "dropped": false,
    "columns": [{"attnum": 1, "name": "id", "type": "integer", "not_null": true, "default": null},
                {"attnum": 2, "name": "value", "type": "numeric(14,2)", "not_null": false, "default": "0"},
                {"attnum": 4, "name": "stage", "type": "text", "not_null": true, "default": "'new'::text"}],
    "primary_key": ["id"], "replica_identity": "d"}]})json";

TEST_F(DdlApplierTest, BringsTablesToTheDescribedState) {
  DdlApplier ddl(conn_.get());
  ddl.Seed(RelationOid(16390), "public", "deals");
  ASSERT_OK_AND_ASSIGN(DdlMessage add, ParseDdlMessage(kAddColumn));
  ASSERT_OK(ddl.Apply(add).status());
  EXPECT_EQ(Columns("deals"),
            "id integer not null, amount numeric(12,2), note text, stage text default "
            "'new'::text not null");
  EXPECT_EQ(Value(db_, "SELECT string_agg(stage, ',' ORDER BY id) FROM deals"), "new,new");

  // Renamed table (same oid), renamed column (same attnum), new type and default, dropped note.
  ASSERT_OK_AND_ASSIGN(DdlMessage change, ParseDdlMessage(kRenameRetypeDrop));
  ASSERT_OK(ddl.Apply(change).status());
  EXPECT_EQ(Value(db_, "SELECT to_regclass('public.deals') IS NULL"), "t");
  EXPECT_EQ(Columns("opportunities"),
            "id integer not null, value numeric(14,2) default 0, stage text default 'new'::text "
            "not null");
  EXPECT_EQ(Value(db_, "SELECT string_agg(value::text, ',' ORDER BY id) FROM opportunities"),
            "10.50,20.25");

  ASSERT_OK_AND_ASSIGN(DdlMessage create, ParseDdlMessage(R"json({"tag": "CREATE TABLE", "query": "",
    "tables": [{"oid": 17000, "schema": "public", "table": "tags", "dropped": false,
      "columns": [{"attnum": 1, "name": "id", "type": "bigint", "not_null": true, "default": null},
                  {"attnum": 2, "name": "label", "type": "character varying(20)", "not_null": false, "default": null}],
      "primary_key": ["id"], "replica_identity": "d"}]})json"));
  ASSERT_OK(ddl.Apply(create).status());
  EXPECT_EQ(Columns("tags"), "id bigint not null, label character varying(20)");
  EXPECT_EQ(Value(db_, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'tags'::regclass AND contype = 'p'"), "1");

  ASSERT_OK_AND_ASSIGN(DdlMessage drop, ParseDdlMessage(R"json({"tag": "DROP TABLE", "query": "",
    "tables": [{"oid": 17000, "schema": "public", "table": "tags", "dropped": true}]})json"));
  ASSERT_OK(ddl.Apply(drop).status());
  EXPECT_EQ(Value(db_, "SELECT to_regclass('public.tags') IS NULL"), "t");
}

// A store written before the statements were recorded: the first change of a table since
// the base is a RENAME COLUMN, with no earlier description to match attnums against. The
// column keeps its values (it used to be dropped and added empty).
TEST_F(DdlApplierTest, AFirstDescribedRenameKeepsTheColumnsValues) {
  DdlApplier ddl(conn_.get());
  ddl.Seed(RelationOid(16390), "public", "deals");
  ASSERT_OK_AND_ASSIGN(DdlMessage rename, ParseDdlMessage(R"json({"tag": "ALTER TABLE",
    "query": "ALTER TABLE deals RENAME COLUMN note TO remark",
    "tables": [{"oid": 16390, "schema": "public", "table": "deals", "dropped": false,
      "columns": [{"attnum": 1, "name": "id", "type": "integer", "not_null": true, "default": null},
                  {"attnum": 2, "name": "amount", "type": "numeric(12,2)", "not_null": false, "default": null},
                  {"attnum": 3, "name": "remark", "type": "text", "not_null": false, "default": null}],
      "primary_key": ["id"], "replica_identity": "d"}]})json"));
  ASSERT_OK(ddl.Apply(rename).status());
  EXPECT_EQ(Columns("deals"), "id integer not null, amount numeric(12,2), remark text");
  EXPECT_EQ(Rows(db_, "deals"), (std::vector<std::string>{"(1,10.50,a)", "(2,20.25,)"}));
}

// A captured statement (format 2) runs as written, under the session's search_path; a
// serial column's sequence comes with it.
TEST_F(DdlApplierTest, TheApplierRunsTheCapturedStatementUnderItsSearchPath) {
  Sql(db_, "CREATE SCHEMA crm");
  StreamBuilder stream;
  stream.Begin(10);
  stream.Message(std::string(kDdlMessagePrefix), R"json({"format": 2, "tag": "CREATE TABLE",
    "query": "CREATE TABLE campaigns (id serial PRIMARY KEY, title text DEFAULT 'x')",
    "search_path": "crm, public", "tables": []})json");
  stream.Begin(11);
  stream.Message(std::string(kDdlMessagePrefix), R"json({"format": 2, "tag": "ALTER TABLE",
    "query": "INSERT INTO t VALUES (1); ALTER TABLE campaigns RENAME COLUMN title TO name; SELECT 1",
    "search_path": "crm, public", "tables": []})json");
  ApplierOptions options;
  options.after_base = true;
  Applier applier(conn_.get(), options);
  applier.BeginSegment();
  for (const v1::Record& record : stream.Take()) ASSERT_OK(applier.Apply(record.event()));
  ASSERT_OK(applier.Finish());
  EXPECT_EQ(Columns("crm.campaigns"),
            "id integer default nextval('crm.campaigns_id_seq'::regclass) not null, name text "
            "default 'x'::text");
  EXPECT_EQ(Value(db_, "SELECT to_regclass('public.campaigns') IS NULL"), "t");
}

TEST_F(DdlApplierTest, MalformedMessagesAreDataLoss) {
  EXPECT_EQ(ParseDdlMessage("{not json").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseDdlMessage(R"json({"tag": "x"})").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseDdlMessage(R"json({"tables": [{"schema": "public"}]})json").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(DdlApplierTest, TheApplierRunsDdlAtItsPlaceInTheStream) {
  v1::Relation before = MakeRelation(16390, "deals", {{"id", 23, "int4", true},
                                                      {"amount", 1700, "numeric", false, 786438},
                                                      {"note", 25, "text"}});
  v1::Relation after = MakeRelation(16390, "deals", {{"id", 23, "int4", true},
                                                     {"amount", 1700, "numeric", false, 786438},
                                                     {"note", 25, "text"},
                                                     {"stage", 25, "text"}});
  StreamBuilder stream;
  stream.Begin(10);
  stream.Define(before);
  stream.Insert(16390, {"3", "30.00", "c"});
  stream.Begin(11);
  stream.Message(std::string(kDdlMessagePrefix), kAddColumn);
  stream.Begin(12);
  stream.Define(after);
  stream.Insert(16390, {"4", "40.00", V::Null(), "won"});
  ApplierOptions options;
  options.after_base = true;
  options.base_relations.push_back(before);
  Applier applier(conn_.get(), options);
  applier.BeginSegment();
  for (const v1::Record& record : stream.Take()) {
    if (record.has_relation_def()) {
      ASSERT_OK(applier.DefineRelation(record.relation_def()));
    } else {
      ASSERT_OK(applier.Apply(record.event()));
    }
  }
  ASSERT_OK(applier.Finish());
  EXPECT_EQ(Rows(db_, "deals"),
            (std::vector<std::string>{"(1,10.50,a,new)", "(2,20.25,,new)", "(3,30.00,c,new)",
                                      "(4,40.00,,won)"}));
}

}  // namespace
}  // namespace walship::replay::testing
