// Helpers shared by the streaming pipeline's tests: builders for decoded pgoutput messages
// and a way to read a transaction's records back.
#ifndef WALSHIP_TESTS_AGENT_STREAM_STREAM_TEST_UTIL_H_
#define WALSHIP_TESTS_AGENT_STREAM_STREAM_TEST_UTIL_H_

#include <dirent.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/pg/pgoutput_messages.h"
#include "gtest/gtest.h"
#include "proto/transaction.h"
#include "proto/walship.pb.h"

namespace walship::agent::testing {

inline TupleValue Text(std::string data) {
  return TupleValue{TupleValue::Kind::kText, std::move(data)};
}

// A relation with an int4 key column "id" and the given text columns.
// Ids are plain numbers here (the messages hold them typed).
inline std::optional<Xid> XidOf(std::optional<uint32_t> xid) {
  return xid ? std::optional<Xid>(Xid(*xid)) : std::nullopt;
}

inline RelationMessage Relation(uint32_t oid, std::string table,
                                std::vector<std::string> text_columns = {"name"},
                                std::optional<uint32_t> xid = std::nullopt) {
  RelationMessage m;
  m.xid = XidOf(xid);
  m.oid = RelationOid(oid);
  m.schema = "public";
  m.table = std::move(table);
  m.replica_identity = 'd';
  m.columns.push_back(RelationColumn{true, "id", 23, -1});
  for (std::string& name : text_columns) {
    m.columns.push_back(RelationColumn{false, std::move(name), 25, -1});
  }
  return m;
}

inline InsertMessage Insert(uint32_t oid, Tuple row, std::optional<uint32_t> xid = std::nullopt) {
  return InsertMessage{XidOf(xid), RelationOid(oid), std::move(row)};
}

inline BeginMessage Begin(uint32_t xid, Lsn final_lsn, int64_t commit_time_us) {
  return BeginMessage{final_lsn, commit_time_us, Xid(xid)};
}

inline CommitMessage Commit(Lsn commit_lsn, Lsn end_lsn, int64_t commit_time_us) {
  return CommitMessage{0, commit_lsn, end_lsn, commit_time_us};
}

inline StreamCommitMessage StreamCommit(uint32_t xid, Lsn commit_lsn, Lsn end_lsn,
                                        int64_t commit_time_us) {
  return StreamCommitMessage{Xid(xid), 0, commit_lsn, end_lsn, commit_time_us};
}

// Every record of `txn`, in order (fails the test on a read error).
inline std::vector<v1::Record> Records(const proto::Transaction& txn) {
  std::vector<v1::Record> records;
  absl::Status status = txn.ForEachRecord([&](const v1::Record& record) {
    records.push_back(record);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return records;
}

// A compact picture of a record list: "R16384" for a RelationDef, "I1" for an INSERT
// event with sequence 1 (U, D, T, M for the other operations).
inline std::vector<std::string> Shape(const std::vector<v1::Record>& records) {
  std::vector<std::string> shape;
  for (const v1::Record& record : records) {
    if (record.has_relation_def()) {
      shape.push_back("R" + std::to_string(record.relation_def().oid()));
      continue;
    }
    const v1::Event& event = record.event();
    std::string op = "?";
    switch (event.op()) {
      case v1::INSERT: op = "I"; break;
      case v1::UPDATE: op = "U"; break;
      case v1::DELETE: op = "D"; break;
      case v1::TRUNCATE: op = "T"; break;
      case v1::MESSAGE: op = "M"; break;
      default: break;
    }
    shape.push_back(op + std::to_string(event.sequence()));
  }
  return shape;
}

}  // namespace walship::agent::testing

#endif  // WALSHIP_TESTS_AGENT_STREAM_STREAM_TEST_UTIL_H_
