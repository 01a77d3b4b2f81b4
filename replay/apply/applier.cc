// Event application: position-based duplicate dropping, batching of source transactions,
// one prepared statement per (table, statement shape), sent through the pipeline. Whatever
// needs the connection to itself (COPY, BEGIN/COMMIT, TRUNCATE, DDL, target checks) drains
// the pipeline first, so statements run in event order.
#include "replay/apply/applier.h"

#include "agent/pg/copy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/log.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "replay/apply/copy_text.h"
#include "replay/apply/sql_builder.h"
#include "replay/apply/sql_script.h"

namespace walship::replay {

std::string EventPlace(const v1::Event& event) {
  return absl::StrFormat("at commit LSN %s (xid %u, event %u)", Lsn(event.commit_lsn()).ToString(),
                         event.xid(), event.sequence());
}

bool IsFullIdentity(const v1::Relation& relation) {
  if (relation.replica_identity() == v1::REPLICA_IDENTITY_FULL) return true;
  for (const v1::Column& column : relation.columns()) {
    if (column.key()) return false;
  }
  return true;
}

namespace {

// "::schema.type" for a column of a user-defined type (named schema-qualified in the
// stream), so its key parameter is typed; "" for built-in types, which `=` resolves.
std::string ParameterCast(const v1::Column& column) {
  constexpr uint32_t kFirstNormalObjectId = 16384;
  const std::string& type = column.type_name();
  size_t dot = type.find('.');
  if (column.type_oid() < kFirstNormalObjectId || dot == std::string::npos) return "";
  return absl::StrCat("::", agent::pg::QuoteQualified(type.substr(0, dot), type.substr(dot + 1)));
}

}  // namespace

Applier::Applier(agent::pg::PgConnection* conn, ApplierOptions options)
    : conn_(conn),
      options_(options),
      tables_(conn, options.force),
      ddl_(conn),
      pipeline_(conn, options.pipeline_depth) {
  tables_.set_after_base(options.after_base);
  for (const v1::Relation& relation : options_.base_relations) {
    ddl_.Seed(proto::OidOf(relation), relation.schema(), relation.table());
  }
}

void Applier::BeginSegment() {
  for (auto& [oid, state] : relations_) state->defined_in_segment = false;
}

absl::Status Applier::DefineRelation(const v1::Relation& relation) {
  std::string serialized = relation.SerializeAsString();
  std::unique_ptr<RelationState>& state = relations_[proto::OidOf(relation)];
  if (state == nullptr || state->serialized != serialized) {
    // Rows batched under the old description go first.
    if (copy_.rows > 0 && copy_.oid == proto::OidOf(relation)) WALSHIP_RETURN_IF_ERROR(FlushCopy());
    WALSHIP_RETURN_IF_ERROR(FlushSet(proto::OidOf(relation)));
    state = std::make_unique<RelationState>();
    state->relation = relation;
    state->serialized = std::move(serialized);
    if (auto moved = renamed_.find(proto::OidOf(relation)); moved != renamed_.end()) {
      if (moved->second.stream_name == DisplayName(relation)) {
        state->relation.set_schema(moved->second.schema);
        state->relation.set_table(moved->second.table);
      } else {
        renamed_.erase(moved);  // a new description names the table as it is
      }
    }
  }
  state->defined_in_segment = true;
  return absl::OkStatus();
}

absl::StatusOr<const v1::Relation*> Applier::Resolve(const v1::Relation& reference,
                                                     const v1::Event& event) {
  if (reference.columns_size() > 0) WALSHIP_RETURN_IF_ERROR(DefineRelation(reference));
  auto it = relations_.find(proto::OidOf(reference));
  if (it == relations_.end() || !it->second->defined_in_segment) {
    return absl::DataLossError(absl::StrFormat(
        "event %s refers to relation oid %u, which no earlier record of its segment describes",
        EventPlace(event), reference.oid()));
  }
  RelationState& state = *it->second;
  if (!state.prepared) {
    WALSHIP_RETURN_IF_ERROR(pipeline_.Drain());
    WALSHIP_RETURN_IF_ERROR(tables_.Prepare(state.relation));
    state.prepared = true;
  }
  return &state.relation;
}

absl::Status Applier::ExecControl(const char* sql) {
  WALSHIP_RETURN_IF_ERROR(pipeline_.Drain());
  return conn_->Exec(sql, absl::StrCat("running ", sql, " in the target"));
}

absl::Status Applier::BeginTargetTransaction() {
  WALSHIP_RETURN_IF_ERROR(ExecControl("BEGIN"));
  // Deferrable keys are checked at commit, as the source checked them at the end of a
  // statement that changed several rows (UPDATE t SET k = NOT k) applied here row by row.
  return ExecControl("SET CONSTRAINTS ALL DEFERRED");
}

absl::Status Applier::StartEvent(const v1::Event& event) {
  if (in_batch_ && Lsn(event.commit_lsn()) == current_commit_lsn_) return absl::OkStatus();
  // A new source transaction: the batch may end here, never inside a transaction.
  if (in_batch_ && (batch_events_ >= options_.batch_events || end_batch_after_transaction_)) {
    end_batch_after_transaction_ = false;
    WALSHIP_RETURN_IF_ERROR(FlushSets());
    WALSHIP_RETURN_IF_ERROR(FlushCopy());
    WALSHIP_RETURN_IF_ERROR(ExecControl("COMMIT"));
    in_batch_ = false;
    stats_.committed_commit_lsn = current_commit_lsn_;
  }
  if (!in_batch_) {
    WALSHIP_RETURN_IF_ERROR(BeginTargetTransaction());
    in_batch_ = true;
    batch_events_ = 0;
  }
  current_commit_lsn_ = Lsn(event.commit_lsn());
  ++stats_.transactions;
  return absl::OkStatus();
}

absl::Status Applier::Apply(const v1::Event& event) {
  WALSHIP_RETURN_IF_ERROR(pipeline_.status());
  if (stats_.events + stats_.duplicates > 0 &&
      proto::PositionOf(event) <= EventPosition{stats_.last_commit_lsn, stats_.last_sequence}) {
    ++stats_.duplicates;
    return absl::OkStatus();
  }
  WALSHIP_RETURN_IF_ERROR(StartEvent(event));
  if (event.op() != v1::INSERT) WALSHIP_RETURN_IF_ERROR(FlushCopy());
  switch (event.op()) {
    case v1::INSERT: {
      WALSHIP_ASSIGN_OR_RETURN(const v1::Relation* relation, Resolve(event.relation(), event));
      WALSHIP_ASSIGN_OR_RETURN(bool folded, FoldIntoSet(*relation, event));
      if (!folded) WALSHIP_RETURN_IF_ERROR(ApplyInsert(*relation, event));
      break;
    }
    case v1::UPDATE:
    case v1::DELETE: {
      WALSHIP_ASSIGN_OR_RETURN(const v1::Relation* relation, Resolve(event.relation(), event));
      WALSHIP_ASSIGN_OR_RETURN(bool folded, FoldIntoSet(*relation, event));
      if (!folded) WALSHIP_RETURN_IF_ERROR(ApplyUpdateOrDelete(*relation, event));
      break;
    }
    case v1::TRUNCATE:
      WALSHIP_RETURN_IF_ERROR(FlushSets());
      WALSHIP_RETURN_IF_ERROR(ApplyTruncate(event));
      break;
    case v1::MESSAGE:
      // Marks and heartbeats change no rows; DDL messages change the schema.
      if (options_.apply_ddl && event.message().prefix() == kDdlMessagePrefix) {
        WALSHIP_RETURN_IF_ERROR(FlushSets());
        WALSHIP_RETURN_IF_ERROR(ApplyDdl(event));
      }
      break;
    default:
      return absl::DataLossError(
          absl::StrFormat("event %s has unknown operation %d", EventPlace(event), event.op()));
  }
  ++stats_.events;
  ++batch_events_;
  stats_.last_commit_lsn = Lsn(event.commit_lsn());
  stats_.last_sequence = event.sequence();
  stats_.last_commit_time_us = event.commit_time_us();
  return absl::OkStatus();
}

absl::Status Applier::ApplyInsert(const v1::Relation& relation, const v1::Event& event) {
  const v1::Row& row = event.new_row();
  if (row.values_size() != relation.columns_size()) {
    return absl::DataLossError(absl::StrFormat("INSERT %s into \"%s\" has %d values for %d columns",
                                               EventPlace(event), DisplayName(relation),
                                               row.values_size(), relation.columns_size()));
  }
  bool plain = options_.copy_batch_rows > 0;
  for (const v1::Value& value : row.values()) plain = plain && !value.has_unchanged_toast();
  if (plain) {
    if (copy_.rows > 0 && (copy_.oid != proto::OidOf(relation) || copy_.rows >= options_.copy_batch_rows)) {
      WALSHIP_RETURN_IF_ERROR(FlushCopy());
    }
    if (copy_.rows == 0) {
      std::vector<std::string> names;
      for (const v1::Column& column : relation.columns())
        names.push_back(agent::pg::QuoteIdent(column.name()));
      copy_.oid = proto::OidOf(relation);
      copy_.copy_sql = absl::StrCat(
          "COPY ", agent::pg::QuoteQualified(relation.schema(), relation.table()),
          names.empty() ? "" : absl::StrCat(" (", absl::StrJoin(names, ", "), ")"), " FROM STDIN");
      copy_.first = absl::StrFormat("INSERT into \"%s\" %s", DisplayName(relation), EventPlace(event));
      copy_.data.clear();
    }
    for (int i = 0; i < row.values_size(); ++i) {
      if (i > 0) copy_.data.push_back('\t');
      AppendCopyValue(row.values(i), &copy_.data);
    }
    copy_.data.push_back('\n');
    ++copy_.rows;
    return absl::OkStatus();
  }
  WALSHIP_RETURN_IF_ERROR(FlushCopy());
  std::vector<std::string> columns;
  std::vector<const std::string*> params;
  for (int i = 0; i < relation.columns_size(); ++i) {
    const v1::Value& value = row.values(i);
    if (value.has_unchanged_toast()) continue;
    columns.push_back(relation.columns(i).name());
    params.push_back(value.has_text() ? &value.text() : nullptr);
  }
  std::string table = agent::pg::QuoteQualified(relation.schema(), relation.table());
  std::string what = absl::StrFormat("INSERT into \"%s\" %s", DisplayName(relation), EventPlace(event));
  return pipeline_.Send(BuildInsert(table, columns), params, std::move(what),
                        agent::pg::StatementPipeline::Expect::kAnyRows);
}

absl::Status Applier::ApplyUpdateOrDelete(const v1::Relation& relation, const v1::Event& event) {
  bool is_update = event.op() == v1::UPDATE;
  std::string what = absl::StrFormat("%s of \"%s\" %s", proto::OperationName(event.op()),
                                     DisplayName(relation), EventPlace(event));
  const int n = relation.columns_size();
  // A table without columns has empty row images; its old row is still there.
  bool has_old = event.has_old_row() && (event.old_row().values_size() > 0 || n == 0);
  if ((is_update && event.new_row().values_size() != n) ||
      (has_old && event.old_row().values_size() != n)) {
    return absl::DataLossError(
        absl::StrFormat("%s: row images do not match the %d columns", what, n));
  }
  if (!is_update && !has_old) {
    return absl::DataLossError(absl::StrFormat("%s: the event has no old row", what));
  }
  std::vector<std::string> set_columns;
  std::vector<const std::string*> params;
  bool full = IsFullIdentity(relation);
  if (is_update) {
    for (int i = 0; i < n; ++i) {
      const v1::Value& value = event.new_row().values(i);
      if (value.has_unchanged_toast()) continue;
      // Without an old row the key did not change: leaving it out of SET keeps a GENERATED
      // ALWAYS identity key (which UPDATE may only set to DEFAULT) out of the way.
      if (!full && !has_old && relation.columns(i).key()) continue;
      set_columns.push_back(relation.columns(i).name());
      params.push_back(value.has_text() ? &value.text() : nullptr);
    }
  }
  const v1::Row& match_row = has_old ? event.old_row() : event.new_row();
  std::vector<std::string> match_columns;
  std::vector<std::string> match_casts;
  for (int i = 0; i < n; ++i) {
    const v1::Column& column = relation.columns(i);
    const v1::Value& value = match_row.values(i);
    if (full) {
      if (value.has_unchanged_toast()) continue;
    } else {
      if (!column.key()) continue;
      if (!value.has_text()) {
        return absl::DataLossError(
            absl::StrFormat("%s: key column \"%s\" has no value", what, column.name()));
      }
    }
    match_columns.push_back(column.name());
    match_casts.push_back(ParameterCast(column));
    params.push_back(value.has_text() ? &value.text() : nullptr);
  }
  std::string table = agent::pg::QuoteQualified(relation.schema(), relation.table());
  std::string sql;
  if (is_update) {
    sql = full ? BuildUpdateByRow(table, set_columns, match_columns)
               : BuildUpdateByKey(table, set_columns, match_columns, match_casts);
    if (!full && set_columns.empty()) {
      // Nothing but the unchanged key: the row must still be there.
      sql = BuildFindByKey(table, match_columns, match_casts);
    }
  } else {
    sql = full ? BuildDeleteByRow(table, match_columns)
               : BuildDeleteByKey(table, match_columns, match_casts);
  }
  // A row not found is the pipeline's kDataLoss, naming `what`.
  return pipeline_.Send(sql, params, std::move(what), agent::pg::StatementPipeline::Expect::kSomeRow);
}

absl::Status Applier::FlushCopy() {
  if (copy_.rows == 0) return absl::OkStatus();
  WALSHIP_RETURN_IF_ERROR(pipeline_.Drain());
  std::string what =
      absl::StrFormat("%s (COPY of %d rows starting there)", copy_.first, copy_.rows);
  copy_.rows = 0;
  WALSHIP_RETURN_IF_ERROR(CopyIn(copy_.copy_sql, copy_.data, what));
  copy_.data.clear();
  return absl::OkStatus();
}

absl::Status Applier::CopyIn(const std::string& copy_sql, absl::string_view data,
                             const std::string& what) {
  auto failed = [&what](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrFormat("%s: %s%s", what,
                                                       absl::IsUnavailable(status)
                                                           ? "connection lost: "
                                                           : "",
                                                       status.message()));
  };
  if (absl::Status started = agent::pg::BeginCopy(*conn_, copy_sql, agent::pg::CopyDirection::kIn);
      !started.ok()) {
    return failed(started);
  }
  if (absl::Status sent = agent::pg::PutCopyData(*conn_, data); !sent.ok()) return failed(sent);
  if (absl::Status ended = agent::pg::EndCopyData(*conn_); !ended.ok()) return failed(ended);
  if (absl::StatusOr<uint64_t> done = agent::pg::CopyResult(*conn_); !done.ok()) {
    return failed(done.status());
  }
  return absl::OkStatus();
}

absl::Status Applier::ApplyTruncate(const v1::Event& event) {
  WALSHIP_RETURN_IF_ERROR(pipeline_.Drain());
  std::vector<v1::Relation> references(event.truncate().relations().begin(),
                                       event.truncate().relations().end());
  if (references.empty()) references.push_back(event.relation());
  std::vector<std::string> tables;
  for (const v1::Relation& reference : references) {
    WALSHIP_ASSIGN_OR_RETURN(const v1::Relation* relation, Resolve(reference, event));
    tables.push_back(agent::pg::QuoteQualified(relation->schema(), relation->table()));
  }
  std::string sql = absl::StrCat("TRUNCATE ONLY ", absl::StrJoin(tables, ", "),
                                 event.truncate().restart_identity() ? " RESTART IDENTITY" : "",
                                 event.truncate().cascade() ? " CASCADE" : "");
  return conn_->Exec(sql, absl::StrFormat("TRUNCATE %s", EventPlace(event)));
}

absl::Status Applier::Finish() {
  WALSHIP_RETURN_IF_ERROR(pipeline_.status());
  if (!in_batch_) return RestoreTriggers();
  WALSHIP_RETURN_IF_ERROR(FlushSets());
  WALSHIP_RETURN_IF_ERROR(FlushCopy());
  WALSHIP_RETURN_IF_ERROR(pipeline_.Drain());
  WALSHIP_RETURN_IF_ERROR(RestoreTriggers());
  WALSHIP_RETURN_IF_ERROR(ExecControl("COMMIT"));
  in_batch_ = false;
  stats_.committed_commit_lsn = current_commit_lsn_;
  return absl::OkStatus();
}

}  // namespace walship::replay
