// Tests for the SQL text the applier prepares.
#include "replay/apply/sql_builder.h"

#include "gtest/gtest.h"

namespace walship::replay {
namespace {

constexpr char kTable[] = "\"public\".\"deals\"";

TEST(SqlBuilder, InsertNamesEveryColumnWithNumberedParameters) {
  EXPECT_EQ(BuildInsert(kTable, {"id", "Deal Name"}),
            "INSERT INTO \"public\".\"deals\" (\"id\", \"Deal Name\") OVERRIDING SYSTEM VALUE "
            "VALUES ($1, $2)");
}

TEST(SqlBuilder, KeyedUpdateAndDeleteUseEquality) {
  EXPECT_EQ(BuildUpdateByKey(kTable, {"name", "amount"}, {"id"}),
            "UPDATE \"public\".\"deals\" SET \"name\" = $1, \"amount\" = $2 WHERE \"id\" = $3");
  EXPECT_EQ(BuildDeleteByKey(kTable, {"a", "b"}),
            "DELETE FROM \"public\".\"deals\" WHERE \"a\" = $1 AND \"b\" = $2");
  EXPECT_EQ(BuildDeleteByKey(kTable, {"k"}, {"::\"s\".\"pair\""}),
            "DELETE FROM \"public\".\"deals\" WHERE \"k\" = $1::\"s\".\"pair\"");
}

TEST(SqlBuilder, RowMatchingTouchesOneRowComparedAsText) {
  EXPECT_EQ(BuildDeleteByRow(kTable, {"a", "j"}),
            "DELETE FROM \"public\".\"deals\" WHERE (tableoid, ctid) = (SELECT tableoid, ctid "
            "FROM \"public\".\"deals\" WHERE (CASE WHEN \"a\" IS NULL THEN NULL ELSE "
            "format('%s', \"a\") END) IS NOT DISTINCT FROM $1 AND (CASE WHEN \"j\" IS NULL "
            "THEN NULL ELSE format('%s', \"j\") END) IS NOT DISTINCT FROM $2 LIMIT 1)");
  EXPECT_EQ(BuildUpdateByRow(kTable, {"a"}, {"a"}),
            "UPDATE \"public\".\"deals\" SET \"a\" = $1 WHERE (tableoid, ctid) = (SELECT "
            "tableoid, ctid FROM \"public\".\"deals\" WHERE (CASE WHEN \"a\" IS NULL THEN "
            "NULL ELSE format('%s', \"a\") END) IS NOT DISTINCT FROM $2 LIMIT 1)");
}

}  // namespace
}  // namespace walship::replay
