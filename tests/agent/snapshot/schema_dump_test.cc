// StripPsqlMetaCommands: only pg_dump's \restrict / \unrestrict lines go.
#include "agent/snapshot/schema_dump.h"

#include "gtest/gtest.h"

namespace walship::snapshot {
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
}  // namespace walship::snapshot
