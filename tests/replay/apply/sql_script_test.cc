// pg_dump script splitting and the post-data split into keys and the rest.
#include "replay/apply/sql_script.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;

TEST(SplitSqlScriptTest, SplitsOnSemicolonsOutsideQuotesAndComments) {
  std::vector<std::string> statements = SplitSqlScript(
      "SET a = 1;\n\n-- a comment; with a semicolon\nCREATE TABLE \"x;y\" (v text DEFAULT "
      "'a;b''c');\n"
      "/* block ; /* nested ; */ still */ SELECT E'it\\'s;';\n");
  EXPECT_THAT(statements, ElementsAre("SET a = 1", "CREATE TABLE \"x;y\" (v text DEFAULT 'a;b''c')",
                                      "/* block ; /* nested ; */ still */ SELECT E'it\\'s;'"));
}

TEST(SplitSqlScriptTest, KeepsDollarQuotedBodiesWhole) {
  std::string function =
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $fn$\nBEGIN\n  PERFORM 1;\n"
      "  RETURN $$x;y$$;\nEND;\n$fn$";
  std::vector<std::string> statements =
      SplitSqlScript(function + ";\n\nCREATE TRIGGER t AFTER INSERT ON x EXECUTE FUNCTION f();\n");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0], function);
  EXPECT_EQ(statements[1], "CREATE TRIGGER t AFTER INSERT ON x EXECUTE FUNCTION f()");
}

TEST(SplitSqlScriptTest, SkipsPsqlMetaCommandsAndEmptyStatements) {
  std::vector<std::string> statements =
      SplitSqlScript("\\restrict abc123\n;;\n-- only a comment\nSELECT 1;\n\\unrestrict abc123\n");
  EXPECT_THAT(statements, ElementsAre("SELECT 1"));
}

TEST(SplitSqlScriptTest, ParameterLikeDollarIsNotAQuote) {
  EXPECT_THAT(SplitSqlScript("PREPARE p AS SELECT $1; SELECT 2;"),
              ElementsAre("PREPARE p AS SELECT $1", "SELECT 2"));
}

TEST(SplitPostDataTest, KeysFirstEverythingElseLater) {
  PostDataParts parts = SplitPostData(
      "SET search_path = '';\n\n"
      "ALTER TABLE ONLY public.deals\n    ADD CONSTRAINT deals_pkey PRIMARY KEY (id);\n\n"
      "ALTER TABLE ONLY public.tags\n    ADD CONSTRAINT tags_name_key UNIQUE (name);\n\n"
      "CREATE UNIQUE INDEX notes_ident ON public.notes USING btree (a, b);\n\n"
      "CREATE UNIQUE INDEX other_unique ON public.notes USING btree (c);\n\n"
      "CREATE INDEX deals_stage ON public.deals USING btree (stage);\n\n"
      "ALTER TABLE ONLY public.notes REPLICA IDENTITY USING INDEX notes_ident;\n\n"
      "ALTER TABLE ONLY public.deals\n    ADD CONSTRAINT deals_customer_fkey FOREIGN KEY "
      "(customer_id) REFERENCES public.customers(id);\n\n"
      "CREATE TRIGGER audit AFTER UPDATE ON public.deals FOR EACH ROW EXECUTE FUNCTION "
      "public.audit();\n");
  ASSERT_EQ(parts.keys.size(), 5u);
  EXPECT_EQ(parts.keys[0], "SET search_path = ''");
  EXPECT_THAT(parts.keys[1], ::testing::HasSubstr("deals_pkey PRIMARY KEY"));
  EXPECT_THAT(parts.keys[2], ::testing::HasSubstr("tags_name_key UNIQUE"));
  EXPECT_THAT(parts.keys[3], ::testing::HasSubstr("notes_ident ON"));
  EXPECT_THAT(parts.keys[4], ::testing::HasSubstr("REPLICA IDENTITY USING INDEX"));
  ASSERT_EQ(parts.rest.size(), 5u);
  EXPECT_EQ(parts.rest[0], "SET search_path = ''");
  EXPECT_THAT(parts.rest[1], ::testing::HasSubstr("other_unique"));
  EXPECT_THAT(parts.rest[2], ::testing::HasSubstr("deals_stage"));
  EXPECT_THAT(parts.rest[3], ::testing::HasSubstr("FOREIGN KEY"));
  EXPECT_THAT(parts.rest[4], ::testing::HasSubstr("CREATE TRIGGER"));
}

TEST(PostDataTableTest, NamesTheTableOfKeysAndIndexes) {
  EXPECT_EQ(PostDataTable(
                "ALTER TABLE ONLY public.deals\n    ADD CONSTRAINT deals_pkey PRIMARY KEY (id)"),
            "PUBLIC.DEALS");
  EXPECT_EQ(PostDataTable("ALTER TABLE public.t REPLICA IDENTITY FULL"), "PUBLIC.T");
  EXPECT_EQ(PostDataTable("CREATE INDEX deals_stage ON public.deals USING btree (stage)"),
            "PUBLIC.DEALS");
  EXPECT_EQ(PostDataTable("CREATE UNIQUE INDEX \"u on x\" ON ONLY \"My Schema\".\"my table\" (a)"),
            "\"MY SCHEMA\".\"MY TABLE\"");
  EXPECT_EQ(PostDataTable("CREATE TRIGGER t AFTER INSERT ON public.deals FOR EACH ROW EXECUTE "
                          "FUNCTION f()"),
            "");
  EXPECT_TRUE(IsCreateIndex("CREATE INDEX deals_stage ON public.deals USING btree (stage)"));
  EXPECT_TRUE(IsCreateIndex("create unique index u on t (a)"));
  EXPECT_FALSE(IsCreateIndex("ALTER INDEX public.p ATTACH PARTITION public.c"));
  EXPECT_TRUE(IsSessionSetting("SET default_tablespace = ''"));
  EXPECT_TRUE(IsSessionSetting("SELECT pg_catalog.set_config('search_path', '', false)"));
  EXPECT_FALSE(IsSessionSetting("CREATE INDEX i ON t (a)"));
}

TEST(SplitKeyBuildTest, SplitsAPrimaryKeyIntoIndexBuildAndConstraint) {
  std::optional<KeyIndexBuild> split = SplitKeyBuild(
      "ALTER TABLE ONLY public.deals\n    ADD CONSTRAINT deals_pkey PRIMARY KEY (id, \"Part\")");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->create_index,
            "CREATE UNIQUE INDEX deals_pkey ON public.deals USING btree (id, \"Part\")");
  EXPECT_EQ(split->add_constraint,
            "ALTER TABLE ONLY public.deals ADD CONSTRAINT deals_pkey PRIMARY KEY USING INDEX "
            "deals_pkey");
}

TEST(SplitKeyBuildTest, KeepsQuotedNamesAndUniqueConstraints) {
  std::optional<KeyIndexBuild> split = SplitKeyBuild(
      "ALTER TABLE ONLY \"My Schema\".\"a.b\"\n    ADD CONSTRAINT \"u \"\"1\"\" x\" UNIQUE "
      "(email)");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->create_index,
            "CREATE UNIQUE INDEX \"u \"\"1\"\" x\" ON \"My Schema\".\"a.b\" USING btree (email)");
  EXPECT_EQ(split->add_constraint,
            "ALTER TABLE ONLY \"My Schema\".\"a.b\" ADD CONSTRAINT \"u \"\"1\"\" x\" UNIQUE USING "
            "INDEX \"u \"\"1\"\" x\"");
}

TEST(SplitKeyBuildTest, LeavesEveryOtherFormAsWritten) {
  for (const char* statement : {
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id) INCLUDE (v)",
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id) WITH "
           "(fillfactor='70')",
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_u UNIQUE NULLS NOT DISTINCT (v)",
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_u UNIQUE (v) DEFERRABLE",
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_x EXCLUDE USING gist (r WITH &&)",
           "ALTER TABLE public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id)",
           "ALTER TABLE ONLY public.t REPLICA IDENTITY FULL",
       }) {
    EXPECT_FALSE(SplitKeyBuild(statement).has_value()) << statement;
  }
}

TEST(SplitForeignKeyTest, AddsNotValidThenValidatesOnTheConstrainedTable) {
  std::optional<ForeignKeyCheck> split = SplitForeignKey(
      "ALTER TABLE ONLY public.deals\n    ADD CONSTRAINT deals_customer_id_fkey FOREIGN KEY "
      "(customer_id) REFERENCES public.customers(id) ON DELETE CASCADE");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->add_not_valid,
            "ALTER TABLE ONLY public.deals\n    ADD CONSTRAINT deals_customer_id_fkey FOREIGN KEY "
            "(customer_id) REFERENCES public.customers(id) ON DELETE CASCADE NOT VALID");
  EXPECT_EQ(split->validate,
            "ALTER TABLE ONLY public.deals VALIDATE CONSTRAINT deals_customer_id_fkey");
  EXPECT_EQ(split->table, "public.deals");
  EXPECT_EQ(split->referenced, "public.customers");
  std::optional<ForeignKeyCheck> quoted = SplitForeignKey(
      "ALTER TABLE ONLY \"CRM\".\"Deal Lines\"\n    ADD CONSTRAINT \"fk \"\"x\"\"\" FOREIGN KEY "
      "(a, b) "
      "REFERENCES \"CRM\".p(a, b) DEFERRABLE INITIALLY DEFERRED");
  ASSERT_TRUE(quoted.has_value());
  EXPECT_EQ(quoted->validate,
            "ALTER TABLE ONLY \"CRM\".\"Deal Lines\" VALIDATE CONSTRAINT \"fk \"\"x\"\"\"");
  EXPECT_EQ(quoted->referenced, "\"CRM\".p");
  EXPECT_EQ(quoted->constraint, "\"fk \"\"x\"\"\"");
  std::optional<ForeignKeyCheck> odd = SplitForeignKey(
      "ALTER TABLE ONLY t\n    ADD CONSTRAINT f FOREIGN KEY (\"a) REFERENCES x(\", b) "
      "REFERENCES \"Odd (Name)\"(a, b)");
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->table, "t");
  EXPECT_EQ(odd->referenced, "\"Odd (Name)\"");
}

TEST(SplitForeignKeyTest, LeavesNotValidPartitionedAndOtherStatementsAlone) {
  for (const char* statement : {
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_fk FOREIGN KEY (a) REFERENCES "
           "public.p(a) NOT VALID",
           "ALTER TABLE public.parted\n    ADD CONSTRAINT parted_fk FOREIGN KEY (a) REFERENCES "
           "public.p(a)",
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id)",
           "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_check CHECK ((a > 0))",
           "CREATE TRIGGER x AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION f()",
       }) {
    EXPECT_FALSE(SplitForeignKey(statement).has_value()) << statement;
  }
}

}  // namespace
}  // namespace walship::replay
