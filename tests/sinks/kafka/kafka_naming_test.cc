// Tests of topic names, row keys and header values.
#include "proto/event_names.h"
#include "sinks/kafka/kafka_naming.h"

#include "gtest/gtest.h"

namespace walship::sinks::kafka {
namespace {

v1::Relation Deals() {
  v1::Relation relation;
  relation.set_oid(16400);
  relation.set_schema("public");
  relation.set_table("deals");
  auto add = [&](const char* name, const char* type, bool key) {
    v1::Column* column = relation.add_columns();
    column->set_name(name);
    column->set_type_name(type);
    column->set_key(key);
  };
  add("tenant", "int4", true);
  add("title", "text", false);
  add("id", "int8", true);
  return relation;
}

v1::Row RowOf(std::vector<std::string> texts) {
  v1::Row row;
  for (const std::string& text : texts) row.add_values()->set_text(text);
  return row;
}

TEST(KafkaNaming, TableTopicJoinsPrefixSchemaAndTable) {
  EXPECT_EQ(TableTopic("crm", "public", "deals"), "crm.public.deals");
}

TEST(KafkaNaming, CharactersOutsideTheTopicAlphabetBecomeUnderscores) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"plain", "plain"},       {"with space", "with_space"}, {"ça/va", "__a_va"},
      {"a.b-c_D9", "a.b-c_D9"}, {"\"Quoted\"", "_Quoted_"},   {"", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(SanitizeTopicPart(c.in), c.out) << c.in;
  EXPECT_EQ(TableTopic("my db", "Sales Dept", "Order$Lines"), "my_db.Sales_Dept.Order_Lines");
  EXPECT_EQ(MessagesTopic("my db"), "my_db.messages");
  EXPECT_EQ(TransactionsTopic("crm"), "crm.transactions");
}

TEST(KafkaNaming, RowKeyHoldsOnlyKeyColumnsInColumnOrder) {
  std::optional<std::string> bytes = EncodeRowKey(Deals(), RowOf({"7", "big deal", "42"}));
  ASSERT_TRUE(bytes.has_value());
  v1::RowKey key;
  ASSERT_TRUE(key.ParseFromString(*bytes));
  ASSERT_EQ(key.columns_size(), 2);
  EXPECT_EQ(key.columns(0).name(), "tenant");
  EXPECT_EQ(key.columns(0).type_name(), "int4");
  EXPECT_EQ(key.columns(1).name(), "id");
  ASSERT_EQ(key.values_size(), 2);
  EXPECT_EQ(key.values(0).text(), "7");
  EXPECT_EQ(key.values(1).text(), "42");
}

TEST(KafkaNaming, EqualKeysAreEqualBytesWhateverTheOtherColumns) {
  EXPECT_EQ(EncodeRowKey(Deals(), RowOf({"7", "a", "42"})),
            EncodeRowKey(Deals(), RowOf({"7", "b", "42"})));
  EXPECT_NE(EncodeRowKey(Deals(), RowOf({"7", "a", "42"})),
            EncodeRowKey(Deals(), RowOf({"7", "a", "43"})));
}

TEST(KafkaNaming, TableWithoutKeyColumnsHasNullKey) {
  v1::Relation relation = Deals();
  for (v1::Column& column : *relation.mutable_columns()) column.set_key(false);
  EXPECT_FALSE(EncodeRowKey(relation, RowOf({"7", "a", "42"})).has_value());
}

TEST(KafkaNaming, ShortRowImageHasNullKeyRatherThanPartialKey) {
  EXPECT_FALSE(EncodeRowKey(Deals(), RowOf({"7"})).has_value());
}

TEST(KafkaNaming, NullKeyValueIsKept) {
  v1::Row row = RowOf({"7", "a", "42"});
  row.mutable_values(0)->set_null(true);
  std::optional<std::string> bytes = EncodeRowKey(Deals(), row);
  ASSERT_TRUE(bytes.has_value());
  v1::RowKey key;
  ASSERT_TRUE(key.ParseFromString(*bytes));
  EXPECT_TRUE(key.values(0).null());
}

TEST(KafkaNaming, KeyRowIsNewRowExceptForDelete) {
  v1::Event event;
  event.mutable_new_row()->add_values()->set_text("new");
  event.mutable_old_row()->add_values()->set_text("old");
  event.set_op(v1::INSERT);
  EXPECT_EQ(KeyRow(event), &event.new_row());
  event.set_op(v1::UPDATE);
  EXPECT_EQ(KeyRow(event), &event.new_row());
  event.set_op(v1::DELETE);
  EXPECT_EQ(KeyRow(event), &event.old_row());
  event.set_op(v1::MESSAGE);
  EXPECT_EQ(KeyRow(event), nullptr);
}

TEST(KafkaNaming, PositionIsSixteenHexDigitsAndSequence) {
  EXPECT_EQ(PositionHeader(EventPosition{Lsn(0x16B3748), 12}), "00000000016B3748:12");
  EXPECT_EQ(PositionHeader(EventPosition{Lsn::Max(), 0}), "FFFFFFFFFFFFFFFF:0");
}

TEST(KafkaNaming, OperationNamesNeverFail) {
  EXPECT_EQ(proto::OperationName(v1::INSERT), "INSERT");
  EXPECT_EQ(proto::OperationName(v1::UPDATE), "UPDATE");
  EXPECT_EQ(proto::OperationName(v1::DELETE), "DELETE");
  EXPECT_EQ(proto::OperationName(v1::TRUNCATE), "TRUNCATE");
  EXPECT_EQ(proto::OperationName(v1::MESSAGE), "MESSAGE");
  EXPECT_EQ(proto::OperationName(static_cast<v1::Operation>(99)), "UNSPECIFIED");
}

}  // namespace
}  // namespace walship::sinks::kafka
