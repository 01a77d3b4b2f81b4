// A committed source transaction as the agent hands it to every sink.
#ifndef WALSHIP_PROTO_TRANSACTION_H_
#define WALSHIP_PROTO_TRANSACTION_H_

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"

namespace walship::proto {

struct TransactionInfo {
  Xid xid;
  Lsn commit_lsn;  // LSN of the commit record
  Lsn end_lsn;     // just past the commit record; what is acknowledged to PostgreSQL
  int64_t commit_time_us = 0;
  uint64_t event_count = 0;
  // About what its records hold in memory (0 when they are in a spill file): what a sink
  // that keeps the transaction for a while (sinks/pipelined_sink.h) counts against its bound.
  uint64_t memory_bytes = 0;
};

// The records of one committed transaction, in order: RelationDef records precede the
// first event that uses them. Every Event already carries its position (commit_lsn,
// sequence), xid, commit time and end_lsn. A large transaction is backed by a spill file,
// so ForEachRecord() may read from disk; it may be called any number of times (once per
// sink), from several threads at once (it changes nothing: records in memory are only read,
// a spill file is read with pread).
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual const TransactionInfo& info() const = 0;
  // Calls `fn` for every record in order; stops at and returns the first error.
  virtual absl::Status ForEachRecord(
      absl::FunctionRef<absl::Status(const v1::Record&)> fn) const = 0;
};

// A transaction held in memory (small transactions, tests).
class InMemoryTransaction : public Transaction {
 public:
  InMemoryTransaction(TransactionInfo info, std::vector<v1::Record> records)
      : info_(info), records_(std::move(records)) {}
  const TransactionInfo& info() const override { return info_; }
  absl::Status ForEachRecord(
      absl::FunctionRef<absl::Status(const v1::Record&)> fn) const override {
    for (const v1::Record& record : records_) {
      absl::Status status = fn(record);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  const std::vector<v1::Record>& records() const { return records_; }

 private:
  TransactionInfo info_;
  std::vector<v1::Record> records_;
};

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_TRANSACTION_H_
