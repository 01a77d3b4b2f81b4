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

}  // namespace
}  // namespace walship::snapshot
