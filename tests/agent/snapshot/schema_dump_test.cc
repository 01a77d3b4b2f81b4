// StripPsqlMetaCommands: only pg_dump's \restrict / \unrestrict lines go.
#include "agent/snapshot/schema_dump.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::agent::snapshot {
namespace {

TEST(SchemaDumpTest, StripsRestrictLinesOnly) {
  EXPECT_EQ(StripPsqlMetaCommands("--\n\\restrict abc123\n\nCREATE TABLE t (a int);\n"
                                  "\\unrestrict abc123\n\n"),
            "--\n\nCREATE TABLE t (a int);\n\n");
  EXPECT_EQ(StripPsqlMetaCommands("SELECT '\\restrict x';\n"), "SELECT '\\restrict x';\n");
  EXPECT_EQ(StripPsqlMetaCommands("no newline"), "no newline");
  EXPECT_EQ(StripPsqlMetaCommands(""), "");
}

TEST(SchemaDumpTest, StripsWalshipEventTriggers) {
  EXPECT_EQ(StripPsqlMetaCommands(
                "--\n\nCREATE EVENT TRIGGER walship_ddl_capture ON ddl_command_end\n"
                "   EXECUTE FUNCTION walship.capture_ddl();\n\n"
                "CREATE EVENT TRIGGER walship_ddl_drop ON sql_drop\n"
                "   EXECUTE FUNCTION walship.capture_drop();\n\n"
                "CREATE EVENT TRIGGER audit ON ddl_command_end\n"
                "   EXECUTE FUNCTION public.audit();\n"),
            "--\n\n\n\nCREATE EVENT TRIGGER audit ON ddl_command_end\n"
            "   EXECUTE FUNCTION public.audit();\n");
}

}  // namespace
}  // namespace walship::agent::snapshot

namespace walship::agent::snapshot {
namespace {

// pg_dump gets only what a libpq client needs: never the AWS or encryption secrets.
TEST(ChildEnvironment, KeepsOnlyWhatPgDumpNeeds) {
  std::vector<std::string> env_strings = {
      "PATH=/usr/bin", "HOME=/root", "PGHOST=/tmp", "PGPASSWORD=old", "LC_ALL=C.UTF-8",
      "AWS_SECRET_ACCESS_KEY=s3cr3t", "AWS_ACCESS_KEY_ID=AKIA", "WALSHIP_ENCRYPTION_KEY=k:abc",
      "KAFKA_PASSWORD=x", "PGSSLMODE=verify-full"};
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  EXPECT_THAT(ChildEnvironment(env.data(), ""),
              ::testing::ElementsAre("PATH=/usr/bin", "HOME=/root", "PGHOST=/tmp",
                                     "PGPASSWORD=old", "LC_ALL=C.UTF-8",
                                     "PGSSLMODE=verify-full"));
  // A password taken out of the conninfo replaces PGPASSWORD.
  std::vector<std::string> with_password = ChildEnvironment(env.data(), "new");
  EXPECT_THAT(with_password, ::testing::Contains("PGPASSWORD=new"));
  EXPECT_THAT(with_password, ::testing::Not(::testing::Contains("PGPASSWORD=old")));
}

}  // namespace
}  // namespace walship::agent::snapshot
