// Holds the records of one transaction while it is being received: in memory up to a
// limit, then in a spill file, so a transaction larger than memory is never held in RAM.
// Records remember the (sub)transaction that produced them so that a subtransaction
// aborted inside a streamed transaction can be discarded. Not thread-safe.
#ifndef WALSHIP_AGENT_STREAM_TRANSACTION_BUFFER_H_
#define WALSHIP_AGENT_STREAM_TRANSACTION_BUFFER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/transaction.h"
#include "proto/walship.pb.h"

namespace walship::agent {

class SpillFile;

class TransactionBuffer {
 public:
  // `spill_dir` must exist; `memory_limit` bytes of records are kept in memory before the
  // buffer moves everything to a spill file there (removed when the buffer or the
  // transaction made from it is destroyed).
  TransactionBuffer(Xid xid, std::string spill_dir, uint64_t memory_limit);
  ~TransactionBuffer();

  Xid xid() const { return xid_; }
  absl::Status Append(Xid subxid, v1::Record record);
  // Discards every record appended for `subxid` (applied when the records are read).
  void AbortSubtransaction(Xid subxid) { aborted_.insert(subxid); }

  uint64_t event_count() const { return event_count_; }
  bool spilled() const { return spill_ != nullptr; }
  // Turns the buffer into a committed transaction; every event gets `info`'s xid, commit
  // LSN, end LSN and commit time, and its 1-based sequence among the events that survive
  // subtransaction aborts. `info.event_count` is filled in.
  static absl::StatusOr<std::unique_ptr<proto::Transaction>> Finish(
      std::unique_ptr<TransactionBuffer> buffer, proto::TransactionInfo info);

 private:
  friend class BufferedTransaction;
  absl::Status SpillAll();

  Xid xid_;
  std::string spill_dir_;
  uint64_t memory_limit_;
  uint64_t memory_bytes_ = 0;
  uint64_t event_count_ = 0;
  std::vector<std::pair<Xid, v1::Record>> records_;
  std::unique_ptr<SpillFile> spill_;
  absl::flat_hash_set<Xid> aborted_;
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_TRANSACTION_BUFFER_H_
