// Sends prepared statements over one PostgreSQL connection in pipeline mode and checks their
// results in sending order, so a run of row changes costs no network round trip each.
#ifndef WALSHIP_AGENT_PG_STATEMENT_PIPELINE_H_
#define WALSHIP_AGENT_PG_STATEMENT_PIPELINE_H_

#include <libpq-fe.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "agent/pg/pg_connection.h"

namespace walship::agent::pg {

// Usage: Send() each statement, then Drain() before anything else uses the connection (a
// query, COPY, BEGIN/COMMIT) and before relying on the sent statements having run. Send()
// enters pipeline mode; Drain() reads every outstanding result and leaves it.
//
// Each distinct SQL text is prepared once, as "walship_N", within the pipeline; prepared
// statements last as long as the connection.
//
// Results are checked in sending order. The first failure (an error from PostgreSQL, a
// statement expected to change a row that changed none, a lost connection) is kept and
// returned by that and every later Send() and Drain(): statements answered after it cannot
// replace it. Its message starts with the `what` its statement was sent with. Statements
// after a failure may have run (a row not found aborts nothing on the server), so the
// caller sends them inside a transaction block it never commits after an error.
//
// Memory stays flat: statements go out in sync groups of max_in_flight / 2, and sending a
// group's sync first reads the results of the group before it, so at most max_in_flight
// statements are unanswered and the server works on one group while the next is built.
// The connection stays in libpq's blocking mode: when the socket is full libpq reads the
// server's pending results into its buffer while it waits, so neither side can deadlock.
//
// The connection must outlive the pipeline. Not thread-safe.
class StatementPipeline {
 public:
  enum class Expect {
    kAnyRows,  // any row count
    kSomeRow,  // no row changed is kDataLoss (a row the stream changed is not in the target)
  };

  // `max_in_flight` <= 1 waits for each statement's result before Send() returns.
  StatementPipeline(PgConnection* conn, uint64_t max_in_flight);
  // Reads what is still in flight, so the connection can run other commands again.
  ~StatementPipeline();
  StatementPipeline(const StatementPipeline&) = delete;
  StatementPipeline& operator=(const StatementPipeline&) = delete;

  // Queues `sql` with text parameters (nullptr is NULL); `params` need only live for the call.
  absl::Status Send(const std::string& sql, const std::vector<const std::string*>& params,
                    std::string what, Expect expect);
  // Waits for every sent statement's result and leaves pipeline mode; the first failure.
  absl::Status Drain();
  // After a schema change: statements are prepared again on next use (a prepared
  // statement keeps the parameter types it was planned with). Call after Drain().
  void ForgetPrepared() { statements_.clear(); }
  // The first failure so far (results not read yet are not waited for).
  const absl::Status& status() const { return first_error_; }

 private:
  struct Pending {
    enum class Kind { kPrepare, kStatement, kSync } kind;
    Expect expect = Expect::kAnyRows;
    std::string what;
  };

  void Sync();
  // Reads the results of the oldest pending entry (waiting for them).
  void ReadNext();
  // Keeps the first failure; `broken` when the result stream can no longer be followed.
  void Fail(absl::Status status, bool broken);
  absl::Status SendFailed(const std::string& what);

  PGconn* conn_;
  uint64_t group_size_;      // statements per sync
  uint64_t max_open_syncs_;  // syncs left unanswered after sending one
  absl::flat_hash_map<std::string, std::string> statements_;  // SQL -> prepared name
  uint64_t prepared_count_ = 0;  // names stay unique across ForgetPrepared()
  std::deque<Pending> pending_;
  uint64_t unsynced_ = 0;    // statements sent since the last sync
  uint64_t open_syncs_ = 0;  // syncs sent and not yet answered
  bool broken_ = false;
  absl::Status first_error_;
};

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_STATEMENT_PIPELINE_H_
