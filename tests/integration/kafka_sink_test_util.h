// Building transactions for the Kafka sink's tests against the mock Kafka cluster, and the
// sink's options for a cluster.
#ifndef WALSHIP_TESTS_INTEGRATION_KAFKA_SINK_TEST_UTIL_H_
#define WALSHIP_TESTS_INTEGRATION_KAFKA_SINK_TEST_UTIL_H_

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "proto/transaction.h"
#include "proto/walship.pb.h"
#include "sinks/kafka/kafka_sink.h"
#include "tests/testing/kafka_mock.h"

namespace walship::testing {

inline v1::Relation MakeRelation(uint32_t oid, const std::string& schema, const std::string& table) {
  v1::Relation relation;
  relation.set_oid(oid);
  relation.set_schema(schema);
  relation.set_table(table);
  relation.set_replica_identity(v1::REPLICA_IDENTITY_DEFAULT);
  auto add = [&](const char* name, uint32_t type_oid, const char* type, bool key) {
    v1::Column* column = relation.add_columns();
    column->set_name(name);
    column->set_type_oid(type_oid);
    column->set_type_name(type);
    column->set_type_modifier(-1);
    column->set_key(key);
  };
  add("id", 20, "int8", true);
  add("name", 25, "text", false);
  return relation;
}

inline v1::Row MakeRow(const std::string& id, const std::string& name) {
  v1::Row row;
  row.add_values()->set_text(id);
  row.add_values()->set_text(name);
  return row;
}

// Builds one transaction: RelationDef records before the first event of each relation,
// events carrying only the relation OID (as the agent's assembler does).
class TxnBuilder {
 public:
  TxnBuilder(uint32_t xid, uint64_t commit_lsn) {
    info_.xid = Xid(xid);
    info_.commit_lsn = Lsn(commit_lsn);
    info_.end_lsn = Lsn(commit_lsn + 0x30);
    info_.commit_time_us = 1700000000000000 + commit_lsn;
  }
  v1::Event& Add(v1::Operation op, const v1::Relation* relation) {
    if (relation != nullptr && described_.insert(relation->oid()).second) {
      v1::Record def;
      *def.mutable_relation_def() = *relation;
      records_.push_back(def);
    }
    v1::Record record;
    v1::Event* event = record.mutable_event();
    event->set_commit_lsn(info_.commit_lsn.value());
    event->set_sequence(++sequence_);
    event->set_xid(info_.xid.value());
    event->set_commit_time_us(info_.commit_time_us);
    event->set_end_lsn(info_.end_lsn.value());
    event->set_op(op);
    if (relation != nullptr) event->mutable_relation()->set_oid(relation->oid());
    records_.push_back(record);
    return *records_.back().mutable_event();
  }
  void Insert(const v1::Relation& r, const std::string& id, const std::string& name) {
    *Add(v1::INSERT, &r).mutable_new_row() = MakeRow(id, name);
  }
  void Update(const v1::Relation& r, const std::string& id, const std::string& name) {
    *Add(v1::UPDATE, &r).mutable_new_row() = MakeRow(id, name);
  }
  // UPDATE ... SET id = new_id: the server sends the old key ('K').
  void UpdateKey(const v1::Relation& r, const std::string& old_id, const std::string& new_id,
                 const std::string& name) {
    v1::Event& event = Add(v1::UPDATE, &r);
    *event.mutable_old_row() = MakeRow(old_id, "");
    event.mutable_old_row()->mutable_values(1)->set_null(true);
    event.set_old_is_key_only(true);
    *event.mutable_new_row() = MakeRow(new_id, name);
  }
  void Delete(const v1::Relation& r, const std::string& id) {
    v1::Event& event = Add(v1::DELETE, &r);
    *event.mutable_old_row() = MakeRow(id, "");
    event.mutable_old_row()->mutable_values(1)->set_null(true);
    event.set_old_is_key_only(true);
  }
  proto::InMemoryTransaction Build() {
    info_.event_count = sequence_;
    return proto::InMemoryTransaction(info_, records_);
  }

 private:
  proto::TransactionInfo info_;
  std::vector<v1::Record> records_;
  std::set<uint32_t> described_;
  uint32_t sequence_ = 0;
};

inline sinks::KafkaSinkOptions Options(const KafkaMockCluster& kafka) {
  sinks::KafkaSinkOptions options;
  options.bootstrap_servers = kafka.bootstrap();
  options.topic_prefix = "crm";
  options.delivery_timeout = absl::Seconds(60);
  return options;
}

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_INTEGRATION_KAFKA_SINK_TEST_UTIL_H_
