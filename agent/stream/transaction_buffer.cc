// Transaction buffering in memory and in spill files.
#include "agent/stream/transaction_buffer.h"

#include "proto/core/status_macros.h"
#include "agent/stream/spill_file.h"

namespace walship::agent {
namespace {

// `sequence` is the event's 1-based place among the transaction's surviving events, so a
// transaction gets the same positions whether PostgreSQL streamed it (aborted
// subtransactions included, then discarded) or sent it whole at commit.
void StampEvent(const proto::TransactionInfo& info, uint32_t sequence, v1::Event* event) {
  event->set_sequence(sequence);
  event->set_xid(info.xid.value());
  event->set_commit_lsn(info.commit_lsn.value());
  event->set_end_lsn(info.end_lsn.value());
  event->set_commit_time_us(info.commit_time_us);
}

}  // namespace

// The committed form: records in memory (already stamped) or in a spill file (stamped
// as they are read back).
class BufferedTransaction : public proto::Transaction {
 public:
  BufferedTransaction(proto::TransactionInfo info, std::unique_ptr<TransactionBuffer> buffer)
      : info_(info), buffer_(std::move(buffer)) {}

  const proto::TransactionInfo& info() const override { return info_; }

  absl::Status ForEachRecord(absl::FunctionRef<absl::Status(const v1::Record&)> fn) const override {
    const auto& aborted = buffer_->aborted_;
    if (buffer_->spill_ == nullptr) {
      for (const auto& [subxid, record] : buffer_->records_) {
        if (!aborted.empty() && aborted.contains(subxid)) continue;
        WALSHIP_RETURN_IF_ERROR(fn(record));
      }
      return absl::OkStatus();
    }
    uint32_t sequence = 0;
    return buffer_->spill_->ForEach([&](Xid subxid, v1::Record& record) -> absl::Status {
      if (!aborted.empty() && aborted.contains(subxid)) return absl::OkStatus();
      if (record.has_event()) StampEvent(info_, ++sequence, record.mutable_event());
      return fn(record);
    });
  }

 private:
  proto::TransactionInfo info_;
  std::unique_ptr<TransactionBuffer> buffer_;
};

TransactionBuffer::TransactionBuffer(Xid xid, std::string spill_dir, uint64_t memory_limit)
    : xid_(xid), spill_dir_(std::move(spill_dir)), memory_limit_(memory_limit) {}

TransactionBuffer::~TransactionBuffer() = default;

absl::Status TransactionBuffer::Append(Xid subxid, v1::Record record) {
  if (record.has_event()) ++event_count_;
  if (spill_ != nullptr) return spill_->Append(subxid, record);
  // What the parsed record occupies: several times its wire size for rows of short values.
  memory_bytes_ += record.SpaceUsedLong() + 64;
  records_.emplace_back(subxid, std::move(record));
  if (memory_bytes_ > memory_limit_) return SpillAll();
  return absl::OkStatus();
}

absl::Status TransactionBuffer::SpillAll() {
  WALSHIP_ASSIGN_OR_RETURN(spill_, SpillFile::Create(spill_dir_, xid_));
  for (const auto& [subxid, record] : records_) {
    WALSHIP_RETURN_IF_ERROR(spill_->Append(subxid, record));
  }
  records_.clear();
  records_.shrink_to_fit();
  memory_bytes_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<proto::Transaction>> TransactionBuffer::Finish(
    std::unique_ptr<TransactionBuffer> buffer, proto::TransactionInfo info) {
  if (buffer->spill_ != nullptr) {
    WALSHIP_RETURN_IF_ERROR(buffer->spill_->FinishWriting());
    // Counting events that survive subtransaction aborts needs a pass over the file.
    uint64_t events = 0;
    if (buffer->aborted_.empty()) {
      events = buffer->event_count_;
    } else {
      WALSHIP_RETURN_IF_ERROR(buffer->spill_->ForEach([&](Xid subxid, v1::Record& record) {
        if (record.has_event() && !buffer->aborted_.contains(subxid)) ++events;
        return absl::OkStatus();
      }));
    }
    info.event_count = events;
  } else {
    uint32_t events = 0;
    for (auto& [subxid, record] : buffer->records_) {
      if (!record.has_event() || buffer->aborted_.contains(subxid)) continue;
      StampEvent(info, ++events, record.mutable_event());
    }
    info.event_count = events;
    info.memory_bytes = buffer->memory_bytes_;
  }
  return std::unique_ptr<proto::Transaction>(new BufferedTransaction(info, std::move(buffer)));
}

}  // namespace walship::agent
