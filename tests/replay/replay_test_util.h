// Builders for replay tests: relations, events with NULL / unchanged-TOAST / text values,
// and whole change segments (with their index objects) written into an ObjectStore.
#ifndef WALSHIP_TESTS_REPLAY_REPLAY_TEST_UTIL_H_
#define WALSHIP_TESTS_REPLAY_REPLAY_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "proto/byte_io.h"
#include "proto/segment_writer.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay::testing {

inline const sinks::StreamId& TestStream() {
  static const sinks::StreamId* stream = new sinks::StreamId{"7301234567890123456", "walship"};
  return *stream;
}

// One column value: text, NULL or unchanged TOAST.
struct V {
  enum Kind { kText, kNull, kToast } kind = kText;
  std::string text;
  V(const char* t) : text(t) {}             // NOLINT: implicit on purpose, for readable tables
  V(std::string t) : text(std::move(t)) {}  // NOLINT
  static V Null() {
    V v("");
    v.kind = kNull;
    return v;
  }
  static V Toast() {
    V v("");
    v.kind = kToast;
    return v;
  }
};

inline v1::Row MakeRow(const std::vector<V>& values) {
  v1::Row row;
  for (const V& v : values) {
    v1::Value* value = row.add_values();
    if (v.kind == V::kNull) value->set_null(true);
    if (v.kind == V::kToast) value->set_unchanged_toast(true);
    if (v.kind == V::kText) value->set_text(v.text);
  }
  return row;
}

struct ColumnSpec {
  std::string name;
  uint32_t type_oid;
  std::string type_name;
  bool key = false;
  int32_t typmod = -1;
};

inline v1::Relation MakeRelation(uint32_t oid, const std::string& table,
                                 const std::vector<ColumnSpec>& columns,
                                 v1::ReplicaIdentity identity = v1::REPLICA_IDENTITY_DEFAULT) {
  v1::Relation relation;
  relation.set_oid(oid);
  relation.set_schema("public");
  relation.set_table(table);
  relation.set_replica_identity(identity);
  for (const ColumnSpec& spec : columns) {
    v1::Column* column = relation.add_columns();
    column->set_name(spec.name);
    column->set_type_oid(spec.type_oid);
    column->set_type_name(spec.type_name);
    column->set_type_modifier(spec.typmod);
    column->set_key(spec.key || identity == v1::REPLICA_IDENTITY_FULL);
  }
  return relation;
}

inline v1::Record RelationRecord(const v1::Relation& relation) {
  v1::Record record;
  *record.mutable_relation_def() = relation;
  return record;
}

// Builds the records of consecutive transactions. Commit time is 1.7e15 us plus the commit
// LSN, so that later transactions commit later.
class StreamBuilder {
 public:
  explicit StreamBuilder(uint64_t first_lsn = 0x1000000, int64_t time_base = 1700000000000000)
      : next_lsn_(first_lsn), time_base_(time_base) {}

  // Starts a new transaction; returns its commit LSN.
  uint64_t Begin(uint32_t xid) {
    commit_lsn_ = next_lsn_;
    next_lsn_ += 0x100;
    xid_ = xid;
    sequence_ = 0;
    return commit_lsn_;
  }
  void Define(const v1::Relation& relation) { records_.push_back(RelationRecord(relation)); }
  void Insert(uint32_t oid, const std::vector<V>& row) {
    v1::Event* event = NewEvent(v1::INSERT, oid);
    *event->mutable_new_row() = MakeRow(row);
  }
  // `old_row` empty: none sent.
  void Update(uint32_t oid, const std::vector<V>& new_row, const std::vector<V>& old_row = {},
              bool old_is_key_only = false) {
    v1::Event* event = NewEvent(v1::UPDATE, oid);
    *event->mutable_new_row() = MakeRow(new_row);
    if (!old_row.empty()) *event->mutable_old_row() = MakeRow(old_row);
    event->set_old_is_key_only(old_is_key_only);
  }
  void Delete(uint32_t oid, const std::vector<V>& old_row, bool old_is_key_only = false) {
    v1::Event* event = NewEvent(v1::DELETE, oid);
    *event->mutable_old_row() = MakeRow(old_row);
    event->set_old_is_key_only(old_is_key_only);
  }
  void Truncate(const std::vector<uint32_t>& oids, bool restart_identity = false) {
    v1::Event* event = NewEvent(v1::TRUNCATE, oids.front());
    for (uint32_t oid : oids) event->mutable_truncate()->add_relations()->set_oid(oid);
    event->mutable_truncate()->set_restart_identity(restart_identity);
  }
  void Message(const std::string& prefix, const std::string& content) {
    v1::Event* event = NewEvent(v1::MESSAGE, 0);
    event->clear_relation();
    event->mutable_message()->set_prefix(prefix);
    event->mutable_message()->set_content(content);
    event->mutable_message()->set_transactional(true);
  }

  int64_t TimeOf(uint64_t commit_lsn) const {
    return time_base_ + static_cast<int64_t>(commit_lsn);
  }
  // Takes the records built so far.
  std::vector<v1::Record> Take() { return std::exchange(records_, {}); }

 private:
  v1::Event* NewEvent(v1::Operation op, uint32_t oid) {
    v1::Record& record = records_.emplace_back();
    v1::Event* event = record.mutable_event();
    event->set_commit_lsn(commit_lsn_);
    event->set_sequence(++sequence_);
    event->set_xid(xid_);
    event->set_commit_time_us(TimeOf(commit_lsn_));
    event->set_end_lsn(commit_lsn_ + 0x30);
    event->set_op(op);
    event->mutable_relation()->set_oid(oid);
    return event;
  }

  uint64_t next_lsn_;
  int64_t time_base_;
  uint64_t commit_lsn_ = 0;
  uint32_t xid_ = 0;
  uint32_t sequence_ = 0;
  std::vector<v1::Record> records_;
};

inline v1::SegmentHeader ChangeHeader() {
  v1::SegmentHeader header;
  header.set_codec(v1::CODEC_ZSTD);
  header.set_kind(v1::CHANGE_SEGMENT);
  header.set_system_id(TestStream().system_id);
  header.set_slot(TestStream().slot);
  header.set_timeline(1);
  header.set_database("crm");
  return header;
}

// Writes `records` as one change segment plus its index object; returns the trailer.
inline absl::StatusOr<v1::SegmentTrailer> StoreSegment(sinks::ObjectStore* store,
                                                       const std::vector<v1::Record>& records,
                                                       uint64_t previous_end_lsn) {
  proto::StringByteSink sink;
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::SegmentWriter> writer,
                           proto::SegmentWriter::Create(&sink, ChangeHeader()));
  for (const v1::Record& record : records) WALSHIP_RETURN_IF_ERROR(writer->Add(record));
  WALSHIP_RETURN_IF_ERROR(writer->Finish(previous_end_lsn));
  v1::SegmentTrailer trailer = writer->trailer();
  std::string key = sinks::WalSegmentKey(TestStream(), Lsn(trailer.first_commit_lsn()),
                                         Lsn(trailer.last_end_lsn()));
  uint64_t bytes = sink.size();
  WALSHIP_RETURN_IF_ERROR(store->Put(key, sink.Release()));
  v1::SegmentIndex index;
  index.set_segment_key(key);
  index.set_segment_bytes(bytes);
  *index.mutable_trailer() = trailer;
  WALSHIP_RETURN_IF_ERROR(
      store->Put(sinks::SegmentIndexKey(TestStream(), Lsn(trailer.last_end_lsn())),
                 index.SerializeAsString()));
  return trailer;
}

}  // namespace walship::replay::testing

#endif  // WALSHIP_TESTS_REPLAY_REPLAY_TEST_UTIL_H_
