// Parallel COPY of base segments.
#include "replay/load/base_loader.h"

#include "agent/pg/copy.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "agent/pg/pg_connection.h"
#include "proto/segment_reader.h"
#include "replay/load/large_objects.h"
#include "replay/apply/sql_script.h"
#include "replay/apply/target_tables.h"

namespace walship::replay {
namespace {

// One COPY stream of a table's load: its connection and the rows it took.
struct CopyStream {
  agent::pg::CopyInSession* conn = nullptr;
  bool copying = false;  // COPY started and not yet ended
  bool in_transaction = false;
};

// Hands chunks of COPY text from one producer thread to one consumer, at most kDepth at a
// time. The producer's final status arrives with Close(); Cancel() makes Push() fail.
class ChunkQueue {
 public:
  absl::Status Push(std::string chunk) {
    absl::MutexLock lock(&mu_, absl::Condition(this, &ChunkQueue::HasRoom));
    if (cancelled_) return absl::CancelledError("the load stopped");
    chunks_.push_back(std::move(chunk));
    return absl::OkStatus();
  }
  // The next chunk; none once the producer closed the queue and it is empty.
  std::optional<std::string> Pop() {
    absl::MutexLock lock(&mu_, absl::Condition(this, &ChunkQueue::Ready));
    if (chunks_.empty()) return std::nullopt;
    std::string chunk = std::move(chunks_.front());
    chunks_.pop_front();
    return chunk;
  }
  void Close(absl::Status status) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
    closed_ = true;
  }
  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  // The producer's status (after Pop() returned none).
  absl::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  static constexpr size_t kDepth = 4;
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return cancelled_ || chunks_.size() < kDepth;
  }
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !chunks_.empty(); }

  absl::Mutex mu_;
  std::deque<std::string> chunks_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// The rows a fold adds go to COPY in pieces of about this size.
constexpr size_t kAddedChunkBytes = 1 << 20;

// Reads a table's base objects in order, checks them (kind, relation, the rows each record
// announces) and emits their COPY text, with the folded changes laid over it and the rows
// they add at the end.
class RowReader {
 public:
  RowReader(sinks::ObjectStore* store, const sinks::StreamId& stream, const TableLoadJob& job,
            const std::string& what)
      : store_(store), stream_(stream), job_(job), what_(what) {}

  absl::Status Run(const std::function<absl::Status(std::string)>& emit) {
    const v1::BaseTable& table = *job_.table;
    const v1::Relation& relation = table.relation();
    for (const std::string& stored_key : table.object_keys()) {
      std::string key = BaseObjectKey(stream_, stored_key);
      absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> source = store_->Open(key);
      if (!source.ok()) {
        return Annotate(source.status(),
                        absl::StrFormat("%s: reading base object \"%s\"", what_, key));
      }
      absl::StatusOr<std::unique_ptr<proto::SegmentReader>> reader =
          proto::SegmentReader::Open(source->get());
      if (!reader.ok()) {
        return absl::Status(reader.status().code(),
                            absl::StrFormat("base object \"%s\" of table \"%s\" is unusable: %s",
                                            key, DisplayName(relation), reader.status().message()));
      }
      if ((*reader)->header().kind() != v1::BASE_SEGMENT) {
        return absl::DataLossError(absl::StrFormat("object \"%s\" is not a base segment", key));
      }
      v1::Record record;
      while (true) {
        absl::StatusOr<bool> more = (*reader)->Next(&record);
        if (!more.ok()) {
          return absl::Status(more.status().code(), absl::StrFormat("base object \"%s\": %s", key,
                                                                    more.status().message()));
        }
        if (!*more) break;
        if (record.has_relation_def()) {
          if (record.relation_def().oid() != relation.oid()) {
            return absl::DataLossError(absl::StrFormat(
                "base object \"%s\" describes relation oid %u, but the manifest lists it for "
                "\"%s\" (oid %u)",
                key, record.relation_def().oid(), DisplayName(relation), relation.oid()));
          }
          continue;
        }
        if (!record.has_copy_rows()) continue;
        v1::CopyRows* rows = record.mutable_copy_rows();
        if (rows->relation_oid() != relation.oid()) {
          return absl::DataLossError(absl::StrFormat(
              "base object \"%s\" holds rows of relation oid %u, not of \"%s\" (oid %u)", key,
              rows->relation_oid(), DisplayName(relation), relation.oid()));
        }
        announced_ += rows->row_count();
        std::string data;
        data.swap(*rows->mutable_data());
        if (job_.folded != nullptr) {
          absl::StatusOr<uint64_t> kept = job_.folded->OverlayInPlace(&data);
          if (!kept.ok()) {
            return Annotate(kept.status(), absl::StrFormat("%s: base object \"%s\"", what_, key));
          }
          sent_ += *kept;
        } else {
          sent_ += rows->row_count();
        }
        if (!data.empty()) WALSHIP_RETURN_IF_ERROR(emit(std::move(data)));
      }
    }
    if (job_.folded != nullptr) {
      // In chunks, which go to the table's streams in turn like the base's records.
      absl::StatusOr<uint64_t> added = job_.folded->Remaining(kAddedChunkBytes, emit);
      if (!added.ok()) return Annotate(added.status(), what_);
      sent_ += *added;
    }
    return absl::OkStatus();
  }

  uint64_t announced() const { return announced_; }  // rows the base segments hold
  uint64_t sent() const { return sent_; }            // rows emitted

 private:
  sinks::ObjectStore* store_;
  const sinks::StreamId& stream_;
  const TableLoadJob& job_;
  const std::string& what_;
  uint64_t announced_ = 0;
  uint64_t sent_ = 0;
};

// Loads one table over `conns` (one COPY stream each, each in its own transaction): the
// table's CopyRows records go to the streams in turn. Every stream commits only after all
// of them ended their COPY and the row counts match the manifest.
absl::StatusOr<TableLoadResult> LoadOne(sinks::ObjectStore* store, const sinks::StreamId& stream,
                                        const std::vector<agent::pg::CopyInSession*>& conns,
                                        const TableLoadJob& job) {
  const v1::BaseTable& table = *job.table;
  const v1::Relation& relation = table.relation();
  TableLoadResult result;
  result.name = absl::StrCat(job.target_schema, ".", job.target_table);
  std::vector<std::string> columns;
  for (const v1::Column& column : relation.columns()) {
    columns.push_back(agent::pg::QuoteIdent(column.name()));
  }
  std::string what = absl::StrFormat("loading table \"%s\" from base snapshot", result.name);
  // A table without columns takes no column list (its rows are empty lines).
  std::string copy = absl::StrCat(
      "COPY ", agent::pg::QuoteQualified(job.target_schema, job.target_table),
      columns.empty() ? "" : absl::StrCat(" (", absl::StrJoin(columns, ", "), ")"), " FROM STDIN");
  std::vector<CopyStream> streams;
  for (agent::pg::CopyInSession* conn : conns) streams.push_back(CopyStream{conn});
  auto rollback_all = [&] {
    for (CopyStream& s : streams) {
      if (s.copying) s.conn->AbortCopyIn("the load of the table failed");
      s.copying = false;
      if (s.in_transaction) s.conn->Exec("ROLLBACK").IgnoreError();
      s.in_transaction = false;
    }
  };
  auto fail = [&](absl::Status status) {
    rollback_all();
    return status;
  };
  // COPY FREEZE needs a plain table (a partitioned one, published through its root, loads
  // into its partitions).
  bool freeze = job.created && streams.size() == 1;
  if (freeze) {
    absl::StatusOr<std::optional<std::string>> kind = streams[0].conn->QueryValue(
        "SELECT relkind::text FROM pg_catalog.pg_class WHERE oid = to_regclass($1)",
        {agent::pg::QuoteQualified(job.target_schema, job.target_table)}, what);
    if (!kind.ok()) return kind.status();
    freeze = kind->value_or("") == "r";
  }
  if (freeze) absl::StrAppend(&copy, " WITH (FREEZE)");
  for (CopyStream& s : streams) {
    absl::Status begun = s.conn->Exec("BEGIN", what);
    if (!begun.ok()) return fail(begun);
    s.in_transaction = true;
    if (freeze) {
      absl::Status emptied = s.conn->Exec(
          absl::StrCat("TRUNCATE ONLY ", agent::pg::QuoteQualified(job.target_schema, job.target_table)),
          what);
      if (!emptied.ok()) return fail(emptied);
    }
    if (absl::Status started = s.conn->BeginCopyIn(copy);
        !started.ok()) {
      return fail(absl::Status(started.code(), absl::StrFormat("%s: %s", what, started.message())));
    }
    s.copying = true;
  }
  // A reader thread checks and decodes the base objects (laying folded changes over the
  // rows) while this one sends, so the server never waits for the decoding.
  RowReader reader(store, stream, job, what);
  ChunkQueue queue;
  std::thread producer([&] {
    queue.Close(reader.Run([&](std::string data) { return queue.Push(std::move(data)); }));
  });
  absl::Status sending;
  size_t turn = 0;
  while (std::optional<std::string> data = queue.Pop()) {
    // A record holds whole rows, so records can go to different streams.
    agent::pg::CopyInSession& conn = *streams[turn++ % streams.size()].conn;
    result.bytes += data->size();
    if (absl::Status sent = conn.PutCopyData(*data); !sent.ok()) {
      sending = absl::UnavailableError(absl::StrFormat("%s: sending rows: %s", what, sent.message()));
      queue.Cancel();
      break;
    }
  }
  producer.join();
  if (!sending.ok()) return fail(sending);
  if (!queue.status().ok()) return fail(queue.status());
  const uint64_t announced = reader.announced();
  const uint64_t sent = reader.sent();
  for (CopyStream& s : streams) {
    if (absl::Status ended = s.conn->EndCopyIn(); !ended.ok()) {
      return fail(
          absl::UnavailableError(absl::StrFormat("%s: ending COPY: %s", what, ended.message())));
    }
  }
  // Every stream's end result, even after a failure (so each connection is idle again).
  std::string copy_error;
  for (CopyStream& s : streams) {
    absl::StatusOr<uint64_t> done = s.conn->CopyInResult();
    s.copying = false;
    if (!done.ok()) {
      if (copy_error.empty()) copy_error = std::string(done.status().message());
      continue;
    }
    result.rows += *done;
  }
  if (!copy_error.empty()) {
    return fail(absl::DataLossError(absl::StrFormat("%s: COPY failed: %s", what, copy_error)));
  }
  if (announced != table.row_count()) {
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: the base segments hold %d rows but the manifest says %d; the base is incomplete "
        "or corrupt",
        what, announced, table.row_count())));
  }
  if (result.rows != sent) {
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: COPY loaded %d rows of the %d sent; the base is corrupt (a row split or joined)", what,
        result.rows, sent)));
  }
  result.base_rows = announced;
  for (CopyStream& s : streams) {
    absl::Status committed = s.conn->Exec("COMMIT", what);
    if (!committed.ok()) return fail(committed);
    s.in_transaction = false;
  }
  return result;
}

// A loading connection: asynchronous commits (the restore ends with a durable one) and,
// like a logical replication apply worker, no foreign keys or user triggers firing while
// tables load in parallel, in any order. That needs superuser; without it, tables with
// foreign keys of a target that already had the schema may fail to load.
absl::StatusOr<std::unique_ptr<agent::pg::CopyInSession>> OpenLoadConnection(
    const agent::pg::CopyInSessionFactory& connect, bool warn) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<agent::pg::CopyInSession> conn, connect());
  WALSHIP_RETURN_IF_ERROR(conn->Exec("SET synchronous_commit = off", "tuning the loading session"));
  absl::Status replica = conn->Exec("SET session_replication_role = replica");
  if (!replica.ok() && warn) {
    LogWarning(
        "cannot disable foreign keys and triggers while loading (%s); load order "
        "may violate foreign keys of an existing schema",
        replica.message());
  }
  return conn;
}

}  // namespace

StreamPlan PlanStreams(const std::vector<uint64_t>& bytes, int jobs, uint64_t split_bytes) {
  jobs = std::max(1, jobs);
  const int tables = static_cast<int>(bytes.size());
  StreamPlan plan;
  plan.extra_streams.assign(bytes.size(), 0);
  uint64_t total = 0;
  for (uint64_t b : bytes) total += b;
  // A table holding more than a connection's share of all bytes gets a stream per share,
  // taken from the threads that would load the other tables: else it loads alone long after
  // the others are done.
  int extras = 0;
  if (total > 0 && tables > 0) {
    const double share = static_cast<double>(total) / jobs;
    std::vector<size_t> order(bytes.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
    for (size_t i : order) {
      if (bytes[i] < split_bytes || bytes[i] == 0) continue;
      const int want = static_cast<int>(static_cast<double>(bytes[i]) / share) - 1;
      const int room = jobs - 1 - extras;
      if (want <= 0 || room <= 0) continue;
      plan.extra_streams[i] = std::min(want, room);
      extras += plan.extra_streams[i];
    }
  }
  plan.threads = std::max(1, std::min(jobs - extras, tables));
  // Connections left over when there are fewer tables than threads: more streams, each to
  // the table with the most bytes per stream.
  for (int spare = std::max(0, jobs - plan.threads - extras); spare > 0; --spare) {
    std::optional<size_t> best;
    double best_share = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] < split_bytes || bytes[i] == 0) continue;
      double per_stream = static_cast<double>(bytes[i]) / (1 + plan.extra_streams[i]);
      if (!best || per_stream > best_share) {
        best = i;
        best_share = per_stream;
      }
    }
    if (!best) break;
    ++plan.extra_streams[*best];
  }
  return plan;
}

std::string TableChecksumSql(const std::string& quoted_table) {
  return absl::StrCat(
      "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) "
      "FROM ",
      quoted_table, " t");
}

absl::StatusOr<std::vector<TableLoadResult>> LoadBaseTables(
    sinks::ObjectStore* store, const sinks::StreamId& stream,
    const agent::pg::CopyInSessionFactory& connect, const std::vector<TableLoadJob>& work, int jobs, uint64_t split_bytes, const LoadHooks& hooks) {
  // When every table waits for the fold, nothing can start before it anyway: wait for it
  // here and plan with the rows it adds (a day's new rows may dwarf a table's base).
  std::vector<FoldedTable*> folded(work.size(), nullptr);
  const bool fold_first =
      !work.empty() && std::all_of(work.begin(), work.end(), [](const TableLoadJob& job) {
        return job.await_fold != nullptr;
      });
  std::vector<uint64_t> bytes;
  for (size_t i = 0; i < work.size(); ++i) {
    bytes.push_back(work[i].table->bytes());
    if (!fold_first) continue;
    WALSHIP_ASSIGN_OR_RETURN(folded[i], work[i].await_fold());
    if (folded[i] != nullptr) bytes.back() += folded[i]->added_bytes();
  }
  // Largest tables first, so the slowest one starts early.
  std::vector<size_t> order(work.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Tables that wait for the change window after the ones that can start at once.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    bool wait_a = work[a].await_fold != nullptr, wait_b = work[b].await_fold != nullptr;
    if (wait_a != wait_b) return wait_b;
    return bytes[a] > bytes[b];
  });
  const StreamPlan plan = PlanStreams(bytes, jobs, split_bytes);
  const int threads = plan.threads;
  const std::vector<int>& extra_streams = plan.extra_streams;
  std::vector<TableLoadResult> results(work.size());
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  absl::Status first_error;
  std::atomic<bool> failed{false};
  std::atomic<bool> warned{false};
  auto worker = [&] {
    absl::StatusOr<std::unique_ptr<agent::pg::CopyInSession>> conn =
        OpenLoadConnection(connect, !warned.exchange(true));
    absl::Status status = conn.status();
    while (status.ok() && !failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= order.size()) break;
      std::vector<std::unique_ptr<agent::pg::CopyInSession>> helpers;
      std::vector<agent::pg::CopyInSession*> conns = {conn->get()};
      for (int k = 0; k < extra_streams[order[i]] && status.ok(); ++k) {
        absl::StatusOr<std::unique_ptr<agent::pg::CopyInSession>> helper =
            OpenLoadConnection(connect, false);
        status = helper.status();
        if (status.ok()) {
          conns.push_back(helper->get());
          helpers.push_back(std::move(*helper));
        }
      }
      if (!status.ok()) break;
      TableLoadJob job = work[order[i]];
      if (fold_first) {
        job.folded = folded[order[i]];
      } else if (job.await_fold) {
        absl::StatusOr<FoldedTable*> folded = job.await_fold();
        if (!folded.ok()) {
          status = folded.status();
          break;
        }
        job.folded = *folded;
      }
      if (hooks.before_table) {
        status = hooks.before_table(job);
        if (!status.ok()) break;
      }
      const absl::Time started = absl::Now();
      absl::StatusOr<TableLoadResult> loaded = LoadOne(store, stream, conns, job);
      if (!loaded.ok()) {
        status = loaded.status();
        break;
      }
      LogInfo("loaded table \"%s\": %d rows (%.1f MiB over %d COPY streams in %.1fs)", loaded->name,
              loaded->rows, loaded->bytes / 1048576.0, conns.size(),
              absl::ToDoubleSeconds(absl::Now() - started));
      results[order[i]] = std::move(*loaded);
      helpers.clear();
      if (hooks.after_table) {
        status = hooks.after_table(work[order[i]]);
        if (!status.ok()) break;
      }
    }
    if (!status.ok()) {
      {
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = status;
        failed.store(true);
      }
      if (hooks.on_failure) hooks.on_failure();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (std::thread& thread : pool) thread.join();
  if (!first_error.ok()) return first_error;
  return results;
}

}  // namespace walship::replay
