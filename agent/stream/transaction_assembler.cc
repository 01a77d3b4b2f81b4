// Assembling transactions from pgoutput messages.
#include "agent/stream/transaction_assembler.h"

#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"

namespace walship::agent {
namespace {

void SetRow(const Tuple& tuple, v1::Row* row) {
  row->mutable_values()->Reserve(static_cast<int>(tuple.size()));
  for (const TupleValue& value : tuple) {
    v1::Value* out = row->add_values();
    switch (value.kind) {
      case TupleValue::Kind::kNull: out->set_null(true); break;
      case TupleValue::Kind::kUnchangedToast: out->set_unchanged_toast(true); break;
      case TupleValue::Kind::kText:
      case TupleValue::Kind::kBinary: out->set_text(value.data); break;
    }
  }
}

using TxnOrNull = absl::StatusOr<std::unique_ptr<proto::Transaction>>;

}  // namespace

void TransactionAssembler::Reset() {
  current_.reset();
  streams_.clear();
  open_stream_ = nullptr;
  cache_.Clear();
  relations_received_ = 0;
  shared_received_at_.clear();
}

absl::StatusOr<TransactionAssembler::Context*> TransactionAssembler::ChangeContext(
    const char* what) {
  if (open_stream_ != nullptr) return open_stream_;
  if (current_ != nullptr) return current_.get();
  return absl::DataLossError(absl::StrFormat("pgoutput sent %s outside a transaction", what));
}

absl::StatusOr<std::shared_ptr<const v1::Relation>> TransactionAssembler::Describe(
    Context* ctx, RelationOid oid) {
  std::shared_ptr<const v1::Relation> relation;
  if (auto it = ctx->relations.find(oid); it != ctx->relations.end()) relation = it->second;
  if (relation == nullptr) relation = cache_.Find(oid);
  if (relation == nullptr) {
    return absl::DataLossError(
        absl::StrFormat("pgoutput sent a change for relation OID %u before describing it",
                        oid.value()));
  }
  auto& described = ctx->described[oid];
  if (described != relation) {
    v1::Record record;
    *record.mutable_relation_def() = *relation;
    // Tagged with the top-level xid: a subtransaction abort never removes a description.
    WALSHIP_RETURN_IF_ERROR(ctx->buffer->Append(ctx->buffer->xid(), std::move(record)));
    described = relation;
  }
  return relation;
}

absl::Status TransactionAssembler::AddEvent(Context* ctx, std::optional<Xid> subxid,
                                            v1::Event event) {
  v1::Record record;
  *record.mutable_event() = std::move(event);
  return ctx->buffer->Append(subxid.value_or(ctx->buffer->xid()), std::move(record));
}

TxnOrNull TransactionAssembler::OnChange(const InsertMessage& m) {
  WALSHIP_ASSIGN_OR_RETURN(Context * ctx, ChangeContext("INSERT"));
  WALSHIP_ASSIGN_OR_RETURN(auto relation, Describe(ctx, m.relation));
  v1::Event event;
  event.set_op(v1::INSERT);
  event.mutable_relation()->set_oid(m.relation.value());
  SetRow(m.new_tuple, event.mutable_new_row());
  WALSHIP_RETURN_IF_ERROR(AddEvent(ctx, m.xid, std::move(event)));
  return nullptr;
}

TxnOrNull TransactionAssembler::OnChange(const UpdateMessage& m) {
  WALSHIP_ASSIGN_OR_RETURN(Context * ctx, ChangeContext("UPDATE"));
  WALSHIP_ASSIGN_OR_RETURN(auto relation, Describe(ctx, m.relation));
  v1::Event event;
  event.set_op(v1::UPDATE);
  event.mutable_relation()->set_oid(m.relation.value());
  if (m.old_kind.has_value()) {
    SetRow(m.old_tuple, event.mutable_old_row());
    event.set_old_is_key_only(*m.old_kind == 'K');
  }
  SetRow(m.new_tuple, event.mutable_new_row());
  WALSHIP_RETURN_IF_ERROR(AddEvent(ctx, m.xid, std::move(event)));
  return nullptr;
}

TxnOrNull TransactionAssembler::OnChange(const DeleteMessage& m) {
  WALSHIP_ASSIGN_OR_RETURN(Context * ctx, ChangeContext("DELETE"));
  WALSHIP_ASSIGN_OR_RETURN(auto relation, Describe(ctx, m.relation));
  v1::Event event;
  event.set_op(v1::DELETE);
  event.mutable_relation()->set_oid(m.relation.value());
  SetRow(m.old_tuple, event.mutable_old_row());
  event.set_old_is_key_only(m.old_kind == 'K');
  WALSHIP_RETURN_IF_ERROR(AddEvent(ctx, m.xid, std::move(event)));
  return nullptr;
}

TxnOrNull TransactionAssembler::OnChange(const TruncateMessage& m) {
  WALSHIP_ASSIGN_OR_RETURN(Context * ctx, ChangeContext("TRUNCATE"));
  if (m.relations.empty()) return absl::DataLossError("pgoutput sent a TRUNCATE of no relation");
  v1::Event event;
  event.set_op(v1::TRUNCATE);
  event.mutable_relation()->set_oid(m.relations[0].value());
  event.mutable_truncate()->set_cascade(m.cascade);
  event.mutable_truncate()->set_restart_identity(m.restart_identity);
  for (RelationOid oid : m.relations) {
    WALSHIP_ASSIGN_OR_RETURN(auto relation, Describe(ctx, oid));
    event.mutable_truncate()->add_relations()->set_oid(oid.value());
  }
  WALSHIP_RETURN_IF_ERROR(AddEvent(ctx, m.xid, std::move(event)));
  return nullptr;
}

TxnOrNull TransactionAssembler::OnChange(const LogicalMessage& m) {
  // Non-transactional messages (heartbeats) carry nothing to store.
  if (!m.transactional) return nullptr;
  WALSHIP_ASSIGN_OR_RETURN(Context * ctx, ChangeContext("a logical message"));
  v1::Event event;
  event.set_op(v1::MESSAGE);
  v1::LogicalMessage* out = event.mutable_message();
  out->set_prefix(m.prefix);
  out->set_content(m.content);
  out->set_transactional(true);
  out->set_lsn(m.lsn.value());
  WALSHIP_RETURN_IF_ERROR(AddEvent(ctx, m.xid, std::move(event)));
  return nullptr;
}

TxnOrNull TransactionAssembler::Feed(PgOutputMessage message) {
  if (auto* m = std::get_if<BeginMessage>(&message)) {
    if (current_ != nullptr) return absl::DataLossError("pgoutput sent BEGIN inside a transaction");
    current_ = std::make_unique<Context>();
    current_->buffer = std::make_unique<TransactionBuffer>(
        m->xid, options_.spill_dir, options_.memory_limit_per_transaction);
    current_->final_lsn = m->final_lsn;
    return nullptr;
  }
  if (auto* m = std::get_if<CommitMessage>(&message)) {
    if (current_ == nullptr) return absl::DataLossError("pgoutput sent COMMIT outside a transaction");
    if (m->commit_lsn != current_->final_lsn) {
      return absl::DataLossError(absl::StrFormat(
          "pgoutput sent COMMIT at %s for a transaction that began with final LSN %s",
          m->commit_lsn.ToString(), current_->final_lsn.ToString()));
    }
    std::unique_ptr<Context> ctx = std::move(current_);
    proto::TransactionInfo info;
    info.xid = ctx->buffer->xid();
    info.commit_lsn = m->commit_lsn;
    info.end_lsn = m->end_lsn;
    info.commit_time_us = m->commit_time_us;
    return TransactionBuffer::Finish(std::move(ctx->buffer), info);
  }
  if (auto* m = std::get_if<RelationMessage>(&message)) {
    ++relations_received_;
    if (open_stream_ != nullptr) {
      // Inside a streamed block the description is that transaction's own view.
      open_stream_->relations[m->oid] = cache_.Build(*m);
      open_stream_->received_at[m->oid] = relations_received_;
    } else {
      cache_.AddRelation(*m);
      shared_received_at_[m->oid] = relations_received_;
    }
    return nullptr;
  }
  if (auto* m = std::get_if<TypeMessage>(&message)) {
    cache_.AddType(*m);
    return nullptr;
  }
  if (auto* m = std::get_if<InsertMessage>(&message)) return OnChange(*m);
  if (auto* m = std::get_if<UpdateMessage>(&message)) return OnChange(*m);
  if (auto* m = std::get_if<DeleteMessage>(&message)) return OnChange(*m);
  if (auto* m = std::get_if<TruncateMessage>(&message)) return OnChange(*m);
  if (auto* m = std::get_if<LogicalMessage>(&message)) return OnChange(*m);
  if (std::get_if<OriginMessage>(&message)) return nullptr;
  if (auto* m = std::get_if<StreamStartMessage>(&message)) {
    if (open_stream_ != nullptr) return absl::DataLossError("pgoutput sent STREAM START twice");
    auto& ctx = streams_[m->xid];
    if (ctx == nullptr) {
      ctx = std::make_unique<Context>();
      ctx->buffer = std::make_unique<TransactionBuffer>(m->xid, options_.spill_dir,
                                                        options_.memory_limit_per_transaction);
    }
    open_stream_ = ctx.get();
    return nullptr;
  }
  if (std::get_if<StreamStopMessage>(&message)) {
    if (open_stream_ == nullptr) return absl::DataLossError("pgoutput sent STREAM STOP outside a stream");
    open_stream_ = nullptr;
    return nullptr;
  }
  if (auto* m = std::get_if<StreamAbortMessage>(&message)) {
    // Outside a block only: erasing the open block's context would leave it dangling.
    if (open_stream_ != nullptr) {
      return absl::DataLossError("pgoutput sent STREAM ABORT inside a stream block");
    }
    auto it = streams_.find(m->xid);
    if (it == streams_.end()) return nullptr;  // nothing of it reached us
    if (m->subxid == m->xid) {
      streams_.erase(it);
    } else {
      it->second->buffer->AbortSubtransaction(m->subxid);
    }
    return nullptr;
  }
  if (auto* m = std::get_if<StreamCommitMessage>(&message)) {
    if (open_stream_ != nullptr) {
      return absl::DataLossError("pgoutput sent STREAM COMMIT inside a stream block");
    }
    auto it = streams_.find(m->xid);
    if (it == streams_.end()) {
      return absl::DataLossError(absl::StrFormat(
          "pgoutput sent STREAM COMMIT for transaction %u that never streamed", m->xid.value()));
    }
    std::unique_ptr<Context> ctx = std::move(it->second);
    streams_.erase(it);
    // pgoutput counts descriptions sent inside a committed stream as sent for every later
    // transaction (cleanup_rel_sync_cache marks them), so they become the shared view --
    // unless a newer description arrived since: a relcache invalidation (DDL committed while
    // this stream was open) unmarks the stream, and later transactions were sent the new
    // schema, which must not be overwritten with this stream's older one.
    for (auto& [oid, relation] : ctx->relations) {
      uint64_t received_at = ctx->received_at[oid];
      uint64_t& shared_at = shared_received_at_[oid];
      if (received_at <= shared_at) continue;
      cache_.Put(relation);
      shared_at = received_at;
    }
    proto::TransactionInfo info;
    info.xid = m->xid;
    info.commit_lsn = m->commit_lsn;
    info.end_lsn = m->end_lsn;
    info.commit_time_us = m->commit_time_us;
    return TransactionBuffer::Finish(std::move(ctx->buffer), info);
  }
  return absl::InternalError("unhandled pgoutput message");
}

}  // namespace walship::agent
