#include "tests/fidelity/corpus_file.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

TEST(ParseCorpusFileTest, SplitsSetupAndNamedSteps) {
  auto family = ParseCorpusFile("f", "-- what it covers\n-- @setup\nCREATE TABLE t();\n"
                                     "-- @step one\nINSERT 1;\n-- @step  two \nINSERT 2;\n");
  ASSERT_TRUE(family.ok()) << family.status();
  EXPECT_EQ(family->summary, "what it covers");
  EXPECT_EQ(family->setup, "CREATE TABLE t();\n");
  ASSERT_EQ(family->steps.size(), 2u);
  EXPECT_EQ(family->steps[0].name, "one");
  EXPECT_EQ(family->steps[0].sql, "INSERT 1;\n");
  EXPECT_EQ(family->steps[1].name, "two");
  EXPECT_EQ(family->steps[1].sql, "INSERT 2;\n");
}

TEST(ParseCorpusFileTest, RefusesMalformedFiles) {
  EXPECT_THAT(ParseCorpusFile("f", "-- @step a\nx;\n").status().message(),
              HasSubstr("before the @setup"));
  EXPECT_THAT(ParseCorpusFile("f", "-- @setup\nx;\n").status().message(), HasSubstr("no @step"));
  EXPECT_THAT(ParseCorpusFile("f", "-- @setup\n-- @step\nx;\n").status().message(),
              HasSubstr("without a name"));
  EXPECT_THAT(ParseCorpusFile("f", "SELECT 1;\n-- @setup\n-- @step a\n").status().message(),
              HasSubstr("SQL before"));
}

TEST(ComparableSchemaTest, LeavesOutWalshipObjectsCommentsAndRestrictKeys) {
  std::string dump =
      "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\nSET x = 1;\n\n"
      "--\n-- Name: walship; Type: SCHEMA; Schema: -; Owner: postgres\n--\n\nCREATE SCHEMA walship;\n\n"
      "--\n-- Name: capture_ddl(); Type: FUNCTION; Schema: walship; Owner: postgres\n--\n\n"
      "CREATE FUNCTION walship.capture_ddl() RETURNS event_trigger\n    AS $$ x $$;\n\n"
      "--\n-- Name: t; Type: TABLE; Schema: public; Owner: postgres\n--\n\n"
      "CREATE TABLE public.t (\n    a integer\n);\n\n"
      "--\n-- Name: walship_ddl_capture; Type: EVENT TRIGGER; Schema: -; Owner: postgres\n--\n\n"
      "CREATE EVENT TRIGGER walship_ddl_capture ON ddl_command_end\n   EXECUTE FUNCTION x();\n"
      "\\unrestrict abc123\n";
  EXPECT_EQ(ComparableSchema(dump), "CREATE TABLE public.t (\n    a integer\n);");
}

TEST(FirstDifferentLineTest, NamesTheLine) {
  EXPECT_EQ(FirstDifferentLine("a\nb", "a\nb"), "");
  EXPECT_THAT(FirstDifferentLine("a\nb\nc", "a\nx\nc"), HasSubstr("line 2"));
  EXPECT_THAT(FirstDifferentLine("a", "a\nextra"), HasSubstr("<end>"));
}

}  // namespace
}  // namespace walship::testing
