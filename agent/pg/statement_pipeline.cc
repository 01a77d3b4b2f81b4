// Pipeline bookkeeping: one Pending entry per prepare, statement and sync, in the order libpq
// returns their results (each statement's result is followed by a null, a sync's is not).
#include "agent/pg/statement_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/pg/pg_handles.h"
#include "agent/pg/copy.h"

namespace walship::agent::pg {

StatementPipeline::StatementPipeline(PgConnection* conn, uint64_t max_in_flight)
    : conn_(conn->get()),
      group_size_(std::max<uint64_t>(1, max_in_flight / 2)),
      max_open_syncs_(max_in_flight <= 1 ? 0 : 1) {}

StatementPipeline::~StatementPipeline() {
  // Any failure was returned by an earlier call, or belongs to statements nobody waits for
  // (the caller gave up on its open transaction).
  if (PQpipelineStatus(conn_) != PQ_PIPELINE_OFF) Drain().IgnoreError();
}

void StatementPipeline::Fail(absl::Status status, bool broken) {
  if (first_error_.ok()) first_error_ = std::move(status);
  if (broken) {
    broken_ = true;
    pending_.clear();
    open_syncs_ = 0;
    unsynced_ = 0;
  }
}

absl::Status StatementPipeline::SendFailed(const std::string& what) {
  std::string message = FirstLine(PQerrorMessage(conn_));
  if (PQstatus(conn_) != CONNECTION_OK) {
    Fail(absl::UnavailableError(absl::StrFormat("%s: connection lost: %s", what, message)), true);
  } else {
    Fail(absl::FailedPreconditionError(absl::StrFormat("%s: %s", what, message)), true);
  }
  return first_error_;
}

absl::Status StatementPipeline::Send(const std::string& sql,
                                     const std::vector<const std::string*>& params,
                                     std::string what, Expect expect) {
  if (!first_error_.ok()) return first_error_;
  if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn_) != 1) {
    return SendFailed(absl::StrCat(what, ": entering pipeline mode"));
  }
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    std::string name = absl::StrCat("walship_", ++prepared_count_);
    if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr) !=
        1) {
      return SendFailed(absl::StrCat(what, ": preparing the statement"));
    }
    pending_.push_back({Pending::Kind::kPrepare, Expect::kAnyRows, what});
    it = statements_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string* param : params) values.push_back(param ? param->c_str() : nullptr);
  if (PQsendQueryPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), values.data(),
                          nullptr, nullptr, 0) != 1) {
    return SendFailed(what);
  }
  pending_.push_back({Pending::Kind::kStatement, expect, std::move(what)});
  if (++unsynced_ >= group_size_) {
    Sync();
    while (!broken_ && open_syncs_ > max_open_syncs_) ReadNext();
  }
  return first_error_;
}

void StatementPipeline::Sync() {
  if (PQpipelineSync(conn_) != 1) {
    Fail(absl::UnavailableError(absl::StrFormat("sending statements to the target: %s",
                                                FirstLine(PQerrorMessage(conn_)))),
         true);
    return;
  }
  pending_.push_back({Pending::Kind::kSync, Expect::kAnyRows, ""});
  ++open_syncs_;
  unsynced_ = 0;
}

void StatementPipeline::ReadNext() {
  Pending entry = std::move(pending_.front());
  pending_.pop_front();
  pg::PgResultPtr result(PQgetResult(conn_));
  if (entry.kind == Pending::Kind::kSync) {
    --open_syncs_;
    if (result != nullptr && PQresultStatus(result.get()) == PGRES_PIPELINE_SYNC) return;
    std::string message =
        FirstLine(result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_));
    Fail(absl::UnavailableError(
             absl::StrFormat("reading statement results from the target: %s", message)),
         true);
    return;
  }
  if (result == nullptr) {
    Fail(absl::UnavailableError(absl::StrFormat("%s: connection lost: %s", entry.what,
                                                FirstLine(PQerrorMessage(conn_)))),
         true);
    return;
  }
  // In pipeline mode a null ends each statement's results; anything else means we lost count.
  if (pg::PgResultPtr extra(PQgetResult(conn_)); extra != nullptr) {
    Fail(absl::InternalError(
             absl::StrFormat("%s: the target returned more than one result", entry.what)),
         true);
    return;
  }
  ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_PIPELINE_ABORTED) {
    // Skipped by the server after an earlier failure in its sync group, which is kept.
    if (first_error_.ok()) {
      Fail(absl::InternalError(
               absl::StrFormat("%s: skipped by the target with no failure before it", entry.what)),
           true);
    }
    return;
  }
  if (status != PGRES_COMMAND_OK) {
    std::string message = FirstLine(PQresultErrorMessage(result.get()));
    if (PQstatus(conn_) != CONNECTION_OK) {
      Fail(absl::UnavailableError(absl::StrFormat("%s: connection lost: %s", entry.what, message)),
           true);
      return;
    }
    const char* step = entry.kind == Pending::Kind::kPrepare ? "preparing the statement: " : "";
    Fail(absl::FailedPreconditionError(absl::StrFormat("%s: %s%s", entry.what, step, message)),
         false);
    return;
  }
  if (entry.expect == Expect::kSomeRow) {
    uint64_t rows = 0;
    if (!absl::SimpleAtoi(PQcmdTuples(result.get()), &rows)) rows = 0;
    if (rows == 0) {
      Fail(
          absl::DataLossError(absl::StrFormat(
              "%s: row not found in the target; the target does not match the stream", entry.what)),
          false);
    }
  }
}

absl::Status StatementPipeline::Drain() {
  if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF || broken_) return first_error_;
  if (unsynced_ > 0) Sync();
  while (!broken_ && !pending_.empty()) ReadNext();
  if (!broken_ && PQexitPipelineMode(conn_) != 1) {
    Fail(absl::InternalError(
             absl::StrFormat("leaving pipeline mode: %s", FirstLine(PQerrorMessage(conn_)))),
         true);
  }
  return first_error_;
}

}  // namespace walship::agent::pg
