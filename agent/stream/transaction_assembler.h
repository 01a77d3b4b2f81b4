// Turns decoded pgoutput messages into whole committed transactions: ordinary ones
// (Begin ... Commit) and streamed in-progress ones (Stream Start/Stop blocks, possibly
// interleaved, ending in Stream Commit or Stream Abort). Every change becomes an Event
// record, preceded within its transaction by a RelationDef record for each relation
// version it uses. Not thread-safe.
#ifndef WALSHIP_AGENT_STREAM_TRANSACTION_ASSEMBLER_H_
#define WALSHIP_AGENT_STREAM_TRANSACTION_ASSEMBLER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "agent/pg/pgoutput_messages.h"
#include "agent/stream/relation_cache.h"
#include "agent/stream/transaction_buffer.h"
#include "proto/transaction.h"

namespace walship::agent {

struct AssemblerOptions {
  // Directory for spill files (must exist).
  std::string spill_dir;
  // Bytes of records one transaction may hold in memory before it spills to disk.
  uint64_t memory_limit_per_transaction = 8ull << 20;
};

class TransactionAssembler {
 public:
  explicit TransactionAssembler(AssemblerOptions options) : options_(std::move(options)) {}

  // Feeds one message. Returns the transaction it completed, or nullptr. A committed
  // transaction may hold no events (event_count 0). Protocol violations (a change outside
  // a transaction, an unknown relation, a commit that does not match its begin) are
  // kDataLoss.
  absl::StatusOr<std::unique_ptr<proto::Transaction>> Feed(PgOutputMessage message);

  // True inside Begin ... Commit (not counting streamed transactions, whose commit is
  // always after the position the server reports while they are open).
  bool InTransaction() const { return current_ != nullptr; }
  size_t open_streamed_transactions() const { return streams_.size(); }

  // Forgets every open transaction and cached relation (after a reconnect).
  void Reset();

 private:
  // One transaction being received.
  struct Context {
    std::unique_ptr<TransactionBuffer> buffer;
    // Relation versions this transaction already described.
    absl::flat_hash_map<RelationOid, std::shared_ptr<const v1::Relation>> described;
    // Streamed transactions: relation descriptions sent inside their blocks, and when
    // each arrived (see relations_received_).
    absl::flat_hash_map<RelationOid, std::shared_ptr<const v1::Relation>> relations;
    absl::flat_hash_map<RelationOid, uint64_t> received_at;
    Lsn final_lsn;  // from Begin
  };

  // The context a change belongs to (the open stream block's, or Begin's).
  absl::StatusOr<Context*> ChangeContext(const char* what);
  absl::StatusOr<std::shared_ptr<const v1::Relation>> Describe(Context* ctx, RelationOid oid);
  absl::Status AddEvent(Context* ctx, std::optional<Xid> subxid, v1::Event event);

  absl::StatusOr<std::unique_ptr<proto::Transaction>> OnChange(const InsertMessage& m);
  absl::StatusOr<std::unique_ptr<proto::Transaction>> OnChange(const UpdateMessage& m);
  absl::StatusOr<std::unique_ptr<proto::Transaction>> OnChange(const DeleteMessage& m);
  absl::StatusOr<std::unique_ptr<proto::Transaction>> OnChange(const TruncateMessage& m);
  absl::StatusOr<std::unique_ptr<proto::Transaction>> OnChange(const LogicalMessage& m);

  AssemblerOptions options_;
  RelationCache cache_;
  std::unique_ptr<Context> current_;
  absl::flat_hash_map<Xid, std::unique_ptr<Context>> streams_;
  Context* open_stream_ = nullptr;  // inside Stream Start ... Stream Stop
  // Relation messages numbered in arrival order, and the number of the description each
  // shared cache entry holds: a committed stream's description replaces only older ones.
  uint64_t relations_received_ = 0;
  absl::flat_hash_map<RelationOid, uint64_t> shared_received_at_;
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_TRANSACTION_ASSEMBLER_H_
