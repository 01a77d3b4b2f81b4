// Pre-flight units: the extensions a base's schema creates.
#include "replay/plan/preflight.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PreflightTest, ExtensionsAreReadFromPgDumpsCreateStatements) {
  EXPECT_THAT(ExtensionsCreatedBy(
                  "SET client_encoding = 'UTF8';\n"
                  "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;\n"
                  "COMMENT ON EXTENSION citext IS 'CREATE EXTENSION IF NOT EXISTS fake';\n"
                  "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\" WITH SCHEMA public;\n"
                  "CREATE EXTENSION IF NOT EXISTS \"odd\"\"name\" WITH SCHEMA x;\n"
                  "CREATE EXTENSION IF NOT EXISTS hstore;\n"
                  "CREATE TABLE t (a int);\n"),
              ElementsAre("citext", "uuid-ossp", "odd\"name", "hstore"));
  EXPECT_THAT(ExtensionsCreatedBy("CREATE TABLE t (a int);\n"), IsEmpty());
}

}  // namespace
}  // namespace walship::replay
