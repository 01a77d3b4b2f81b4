// ReplaceField: the result parses as the message with the field replaced, byte for byte the
// same as serializing that message; anything it cannot edit safely is left alone.
#include "sinks/kafka/wire_fields.h"

#include <string>

#include "gtest/gtest.h"
#include "proto/walship.pb.h"

namespace walship::sinks::kafka {
namespace {

v1::Event RowEvent() {
  v1::Event event;
  event.set_op(v1::UPDATE);
  event.set_xid(77);
  event.set_commit_lsn(0x1234567);
  event.set_sequence(3);
  event.mutable_relation()->set_oid(16400);
  event.mutable_new_row()->add_values()->set_text("1");
  event.mutable_old_row()->add_values()->set_text("0");
  return event;
}

TEST(WireFieldsTest, ReplacingTheRelationGivesTheBytesOfTheEventWithIt) {
  v1::Relation full;
  full.set_oid(16400);
  full.set_schema("public");
  full.set_table("deals");
  full.add_columns()->set_name("id");
  v1::Event only;
  *only.mutable_relation() = full;
  const std::string field = only.SerializeAsString();

  const v1::Event event = RowEvent();
  std::string bytes = event.SerializeAsString();
  ASSERT_TRUE(ReplaceField(v1::Event::kRelationFieldNumber, field, &bytes));
  v1::Event expected = event;
  *expected.mutable_relation() = full;
  EXPECT_EQ(bytes, expected.SerializeAsString());
}

TEST(WireFieldsTest, WhatItCannotEditSafelyIsLeftAlone) {
  v1::Event event = RowEvent();
  event.clear_relation();
  std::string bytes = event.SerializeAsString();
  const std::string before = bytes;
  EXPECT_FALSE(ReplaceField(v1::Event::kRelationFieldNumber, "x", &bytes));  // absent
  EXPECT_FALSE(ReplaceField(1, "x", &bytes));  // commit_lsn: a varint, not length-delimited
  std::string truncated = RowEvent().SerializeAsString();
  truncated.resize(truncated.size() - 2);
  const std::string cut = truncated;
  EXPECT_FALSE(ReplaceField(v1::Event::kRelationFieldNumber, "x", &truncated));
  EXPECT_EQ(truncated, cut);
  std::string twice = RowEvent().SerializeAsString() + RowEvent().SerializeAsString();
  EXPECT_FALSE(ReplaceField(v1::Event::kRelationFieldNumber, "x", &twice));  // repeated
  EXPECT_EQ(bytes, before);
}

}  // namespace
}  // namespace walship::sinks::kafka
