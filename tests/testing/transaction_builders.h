// Builders of relations, records and whole transactions as the agent hands them to the
// sinks (each transaction led by the RelationDef of the relation it uses).
#ifndef WALSHIP_TESTS_TESTING_TRANSACTION_BUILDERS_H_
#define WALSHIP_TESTS_TESTING_TRANSACTION_BUILDERS_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/transaction.h"
#include "proto/walship.pb.h"

namespace walship::testing {

inline v1::Relation MakeRelation(uint32_t oid, const std::string& table, int columns = 2) {
  v1::Relation relation;
  relation.set_oid(oid);
  relation.set_schema("public");
  relation.set_table(table);
  relation.set_replica_identity(v1::REPLICA_IDENTITY_DEFAULT);
  for (int i = 0; i < columns; ++i) {
    v1::Column* column = relation.add_columns();
    column->set_name(absl::StrCat("c", i));
    column->set_type_oid(i == 0 ? 23 : 25);
    column->set_type_name(i == 0 ? "int4" : "text");
    column->set_type_modifier(-1);
    column->set_key(i == 0);
  }
  return relation;
}

inline v1::Record RelationDefRecord(const v1::Relation& relation) {
  v1::Record record;
  *record.mutable_relation_def() = relation;
  return record;
}

// One INSERT event on `oid` as the `sequence`th event of the transaction.
inline v1::Record InsertRecord(const proto::TransactionInfo& info, uint32_t oid,
                               uint32_t sequence, const std::string& value) {
  v1::Record record;
  v1::Event* event = record.mutable_event();
  event->set_commit_lsn(info.commit_lsn.value());
  event->set_sequence(sequence);
  event->set_xid(info.xid.value());
  event->set_commit_time_us(info.commit_time_us);
  event->set_end_lsn(info.end_lsn.value());
  event->set_op(v1::INSERT);
  event->mutable_relation()->set_oid(oid);
  event->mutable_new_row()->add_values()->set_text(absl::StrCat(sequence));
  event->mutable_new_row()->add_values()->set_text(value);
  return record;
}

// A transaction of `events` inserts into `relation`, preceded by its RelationDef (as the
// agent hands them over: each transaction describes the relations it uses).
inline proto::InMemoryTransaction MakeTransaction(uint32_t xid, uint64_t commit_lsn,
                                                  const v1::Relation& relation, int events,
                                                  const std::string& value = "v") {
  proto::TransactionInfo info;
  info.xid = Xid(xid);
  info.commit_lsn = Lsn(commit_lsn);
  info.end_lsn = Lsn(commit_lsn + 0x28);
  info.commit_time_us = 1700000000000000 + static_cast<int64_t>(xid) * 1000;
  info.event_count = static_cast<uint64_t>(events);
  std::vector<v1::Record> records = {RelationDefRecord(relation)};
  for (int i = 1; i <= events; ++i) {
    records.push_back(InsertRecord(info, relation.oid(), static_cast<uint32_t>(i),
                                   absl::StrCat(value, "-", xid, "-", i)));
  }
  return proto::InMemoryTransaction(info, std::move(records));
}

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_TRANSACTION_BUILDERS_H_
