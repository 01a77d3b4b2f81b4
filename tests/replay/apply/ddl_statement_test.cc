// The pure parts of replaying captured DDL statements: command tags from statement text,
// statements made runnable inside a transaction, and table-level schema rewriting.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/apply/ddl_applier.h"
#include "replay/apply/table_level_schema.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(StatementTagTest, NamesTheTagPostgresReports) {
  EXPECT_EQ(StatementTag("CREATE TABLE t (a int)"), "CREATE TABLE");
  EXPECT_EQ(StatementTag("create unique index concurrently i on t (a)"), "CREATE INDEX");
  EXPECT_EQ(StatementTag("CREATE OR REPLACE FUNCTION f() RETURNS int"), "CREATE FUNCTION");
  EXPECT_EQ(StatementTag("CREATE TEMP TABLE x ()"), "CREATE TABLE");
  EXPECT_EQ(StatementTag("  -- a comment\n/* and */ ALTER TABLE \"T\" ADD x int"), "ALTER TABLE");
  EXPECT_EQ(StatementTag("CREATE MATERIALIZED VIEW v AS SELECT 1"), "CREATE MATERIALIZED VIEW");
  EXPECT_EQ(StatementTag("CREATE TEXT SEARCH CONFIGURATION c (COPY = simple)"),
            "CREATE TEXT SEARCH CONFIGURATION");
  EXPECT_EQ(StatementTag("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC"),
            "ALTER DEFAULT PRIVILEGES");
  EXPECT_EQ(StatementTag("COMMENT ON TABLE t IS 'x'"), "COMMENT");
  EXPECT_EQ(StatementTag("GRANT SELECT ON t TO PUBLIC"), "GRANT");
  EXPECT_EQ(StatementTag("CREATE CONSTRAINT TRIGGER c AFTER INSERT ON t"), "CREATE TRIGGER");
  EXPECT_EQ(StatementTag("\"quoted\""), "");
}

TEST(StatementTagTest, MatchesTheTagsOfStatementsWithOtherForms) {
  EXPECT_TRUE(StatementHasTag("CREATE TABLE t AS SELECT 1", "CREATE TABLE AS"));
  EXPECT_TRUE(StatementHasTag("SELECT 1 AS a INTO t", "SELECT INTO"));
  EXPECT_TRUE(StatementHasTag("create index on t (a)", "CREATE INDEX"));
  EXPECT_FALSE(StatementHasTag("INSERT INTO t VALUES (1)", "CREATE TABLE"));
  EXPECT_FALSE(StatementHasTag("DROP TABLE t", "ALTER TABLE"));
}

TEST(RunnableInTransactionTest, DropsConcurrentlyOnlyAsAKeyword) {
  EXPECT_EQ(RunnableInTransaction("CREATE INDEX CONCURRENTLY i ON t (a)"),
            "CREATE INDEX i ON t (a)");
  EXPECT_EQ(RunnableInTransaction("create unique index concurrently \"concurrently\" on t (a)"),
            "create unique index \"concurrently\" on t (a)");
  EXPECT_EQ(RunnableInTransaction("DROP INDEX CONCURRENTLY IF EXISTS i"), "DROP INDEX IF EXISTS i");
  EXPECT_EQ(RunnableInTransaction("ALTER TABLE p DETACH PARTITION c CONCURRENTLY"),
            "ALTER TABLE p DETACH PARTITION c ");
  EXPECT_EQ(RunnableInTransaction("ALTER TABLE t ADD c text DEFAULT 'concurrently'"),
            "ALTER TABLE t ADD c text DEFAULT 'concurrently'");
}

TEST(ReplaceQualifiedNamesTest, ReplacesWholeNamesOnly) {
  std::vector<std::pair<std::string, std::string>> renames = {
      {"public.t", "copy.t"}, {"public.t_id_seq", "copy.t_id_seq"}};
  EXPECT_EQ(ReplaceQualifiedNames("ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT "
                                  "nextval('public.t_id_seq'::regclass)",
                                  renames),
            "ALTER TABLE ONLY copy.t ALTER COLUMN id SET DEFAULT "
            "nextval('copy.t_id_seq'::regclass)");
  EXPECT_EQ(ReplaceQualifiedNames("CREATE TABLE public.tt (a int); COMMENT ON COLUMN public.t.a",
                                  renames),
            "CREATE TABLE public.tt (a int); COMMENT ON COLUMN copy.t.a");
  EXPECT_EQ(ReplaceQualifiedNames("SELECT xpublic.t, \"public\".t", renames),
            "SELECT xpublic.t, \"public\".t");
}

std::string Quote(const std::string& name) {
  bool plain = !name.empty();
  for (char c : name) plain = plain && ((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9'));
  return plain ? name : "\"" + name + "\"";
}

TEST(TableLevelSchemaTest, TakesTheChosenTablesAndWhatTheyOwnAndListsForeignKeysOutside) {
  std::string pre =
      "SET search_path = '';\n"
      "CREATE FUNCTION public.f() RETURNS trigger AS $$ BEGIN INSERT INTO public.t VALUES (1); "
      "END $$ LANGUAGE plpgsql;\n"
      "CREATE TABLE public.t (\n    id integer NOT NULL,\n    o integer\n);\n"
      "CREATE SEQUENCE public.t_id_seq AS integer;\n"
      "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;\n"
      "ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);\n"
      "COMMENT ON TABLE public.t IS 'the t';\n"
      "CREATE TABLE public.other (id integer NOT NULL);\n"
      "CREATE TABLE \"Crm Data\".u (\n    id integer NOT NULL\n);\n"
      "ALTER TABLE \"Crm Data\".u ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n"
      "    SEQUENCE NAME \"Crm Data\".u_id_seq\n    START WITH 1\n);\n";
  std::string post =
      "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n"
      "ALTER TABLE ONLY \"Crm Data\".u ADD CONSTRAINT u_pkey PRIMARY KEY (id);\n"
      "CREATE INDEX t_o ON public.t USING btree (o);\n"
      "ALTER TABLE ONLY public.t ADD CONSTRAINT t_o_fk FOREIGN KEY (o) REFERENCES public.other(id);\n"
      "ALTER TABLE ONLY public.t ADD CONSTRAINT t_u_fk FOREIGN KEY (o) REFERENCES \"Crm Data\".u(id);\n";
  TableLevelSchema schema = BuildTableLevelSchema(
      pre, post, {{"public", "t"}, {"Crm Data", "u"}},
      {{"public", "t"}, {"public", "other"}, {"Crm Data", "u"}}, "restored set", Quote);
  EXPECT_THAT(schema.create,
              ElementsAre("CREATE TABLE \"restored set\".t (\n    id integer NOT NULL,\n    o integer\n)",
                          "CREATE SEQUENCE \"restored set\".t_id_seq AS integer",
                          "ALTER SEQUENCE \"restored set\".t_id_seq OWNED BY \"restored set\".t.id",
                          "ALTER TABLE ONLY \"restored set\".t ALTER COLUMN id SET DEFAULT "
                          "nextval('\"restored set\".t_id_seq'::regclass)",
                          "COMMENT ON TABLE \"restored set\".t IS 'the t'",
                          "CREATE TABLE \"restored set\".u (\n    id integer NOT NULL\n)",
                          "ALTER TABLE \"restored set\".u ALTER COLUMN id ADD GENERATED ALWAYS AS "
                          "IDENTITY (\n    SEQUENCE NAME \"restored set\".u_id_seq\n    START WITH 1\n)"));
  EXPECT_THAT(schema.keys, ElementsAre(HasSubstr("\"restored set\".t ADD CONSTRAINT t_pkey"),
                                       HasSubstr("\"restored set\".u ADD CONSTRAINT u_pkey")));
  EXPECT_THAT(schema.rest,
              ElementsAre("CREATE INDEX t_o ON \"restored set\".t USING btree (o)",
                          "ALTER TABLE ONLY \"restored set\".t ADD CONSTRAINT t_u_fk FOREIGN KEY "
                          "(o) REFERENCES \"restored set\".u(id)"));
  EXPECT_THAT(schema.skipped, ElementsAre(HasSubstr("t_o_fk")));
}

}  // namespace
}  // namespace walship::replay
