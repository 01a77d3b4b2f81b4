// Parallel COPY of base segments.
#include "replay/base_loader.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "agent/base/log.h"
#include "agent/base/status_macros.h"
#include "agent/pg/pg_connection.h"
#include "proto/segment_reader.h"
#include "replay/target_tables.h"

namespace walship::replay {
namespace {

std::string FirstLine(const char* text) {
  std::string line = text ? text : "";
  size_t nl = line.find('\n');
  if (nl != std::string::npos) line.resize(nl);
  return line;
}

// Ends a COPY in progress with an error so the server aborts it, and drains its result.
void AbortCopy(PGconn* conn, const std::string& why) {
  PQputCopyEnd(conn, why.c_str());
  while (PGresult* result = PQgetResult(conn)) PQclear(result);
}

absl::StatusOr<TableLoadResult> LoadOne(sinks::ObjectStore* store, const sinks::StreamId& stream,
                                        pg::PgConnection* conn, const TableLoadJob& job) {
  const v1::BaseTable& table = *job.table;
  const v1::Relation& relation = table.relation();
  TableLoadResult result;
  result.name = absl::StrCat(job.target_schema, ".", job.target_table);
  std::vector<std::string> columns;
  for (const v1::Column& column : relation.columns()) {
    columns.push_back(pg::QuoteIdent(column.name()));
  }
  std::string what = absl::StrFormat("loading table \"%s\" from base snapshot", result.name);
  WALSHIP_RETURN_IF_ERROR(conn->Exec("BEGIN", what));
  std::string copy = absl::StrCat("COPY ", pg::QuoteQualified(job.target_schema, job.target_table),
                                  " (", absl::StrJoin(columns, ", "), ") FROM STDIN");
  PGconn* raw = conn->get();
  {
    pg::PgResultPtr started(PQexec(raw, copy.c_str()));
    if (started == nullptr || PQresultStatus(started.get()) != PGRES_COPY_IN) {
      std::string message =
          FirstLine(started ? PQresultErrorMessage(started.get()) : PQerrorMessage(raw));
      conn->Exec("ROLLBACK").IgnoreError();
      return absl::FailedPreconditionError(absl::StrFormat("%s: %s", what, message));
    }
  }
  uint64_t announced = 0;
  auto fail = [&](absl::Status status) {
    AbortCopy(raw, std::string(status.message()));
    conn->Exec("ROLLBACK").IgnoreError();
    return status;
  };
  for (const std::string& stored_key : table.object_keys()) {
    std::string key = absl::StartsWith(stored_key, stream.Prefix())
                          ? stored_key
                          : absl::StrCat(stream.Prefix(), stored_key);
    absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> source = store->Open(key);
    if (!source.ok()) {
      return fail(Annotate(source.status(),
                           absl::StrFormat("%s: reading base object \"%s\"", what, key)));
    }
    absl::StatusOr<std::unique_ptr<proto::SegmentReader>> reader =
        proto::SegmentReader::Open(source->get());
    if (!reader.ok()) {
      return fail(absl::Status(
          reader.status().code(),
          absl::StrFormat("base object \"%s\" of table \"%s\" is unusable: %s", key,
                          DisplayName(relation), reader.status().message())));
    }
    if ((*reader)->header().kind() != v1::BASE_SEGMENT) {
      return fail(absl::DataLossError(
          absl::StrFormat("object \"%s\" is not a base segment", key)));
    }
    v1::Record record;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->Next(&record);
      if (!more.ok()) {
        return fail(absl::Status(more.status().code(),
                                 absl::StrFormat("base object \"%s\": %s", key,
                                                 more.status().message())));
      }
      if (!*more) break;
      if (record.has_relation_def()) {
        if (record.relation_def().oid() != relation.oid()) {
          return fail(absl::DataLossError(absl::StrFormat(
              "base object \"%s\" describes relation oid %u, but the manifest lists it for "
              "\"%s\" (oid %u)",
              key, record.relation_def().oid(), DisplayName(relation), relation.oid())));
        }
        continue;
      }
      if (!record.has_copy_rows()) continue;
      const v1::CopyRows& rows = record.copy_rows();
      if (rows.relation_oid() != relation.oid()) {
        return fail(absl::DataLossError(absl::StrFormat(
            "base object \"%s\" holds rows of relation oid %u, not of \"%s\" (oid %u)", key,
            rows.relation_oid(), DisplayName(relation), relation.oid())));
      }
      announced += rows.row_count();
      result.bytes += rows.data().size();
      if (PQputCopyData(raw, rows.data().data(), static_cast<int>(rows.data().size())) != 1) {
        return fail(absl::UnavailableError(
            absl::StrFormat("%s: sending rows: %s", what, FirstLine(PQerrorMessage(raw)))));
      }
    }
  }
  if (PQputCopyEnd(raw, nullptr) != 1) {
    return fail(absl::UnavailableError(
        absl::StrFormat("%s: ending COPY: %s", what, FirstLine(PQerrorMessage(raw)))));
  }
  pg::PgResultPtr done(PQgetResult(raw));
  while (PGresult* extra = PQgetResult(raw)) PQclear(extra);
  if (done == nullptr || PQresultStatus(done.get()) != PGRES_COMMAND_OK) {
    std::string message = FirstLine(done ? PQresultErrorMessage(done.get()) : PQerrorMessage(raw));
    conn->Exec("ROLLBACK").IgnoreError();
    return absl::DataLossError(absl::StrFormat("%s: COPY failed: %s", what, message));
  }
  if (!absl::SimpleAtoi(PQcmdTuples(done.get()), &result.rows)) result.rows = 0;
  if (result.rows != table.row_count() || announced != table.row_count()) {
    conn->Exec("ROLLBACK").IgnoreError();
    return absl::DataLossError(absl::StrFormat(
        "%s: loaded %d rows (segments announce %d) but the manifest says %d; the base is "
        "incomplete or corrupt",
        what, result.rows, announced, table.row_count()));
  }
  WALSHIP_RETURN_IF_ERROR(conn->Exec("COMMIT", what));
  return result;
}

}  // namespace

std::string TableChecksumSql(const std::string& quoted_table) {
  return absl::StrCat(
      "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) "
      "FROM ",
      quoted_table, " t");
}

absl::StatusOr<std::vector<TableLoadResult>> LoadBaseTables(sinks::ObjectStore* store,
                                                            const sinks::StreamId& stream,
                                                            const std::string& conninfo,
                                                            const std::vector<TableLoadJob>& work,
                                                            int jobs) {
  // Largest tables first, so the slowest one starts early.
  std::vector<size_t> order(work.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return work[a].table->bytes() > work[b].table->bytes(); });
  std::vector<TableLoadResult> results(work.size());
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  absl::Status first_error;
  std::atomic<bool> failed{false};
  auto worker = [&] {
    absl::StatusOr<std::unique_ptr<pg::PgConnection>> conn =
        pg::PgConnection::Connect(conninfo, pg::ConnectionKind::kNormal);
    absl::Status status = conn.status();
    if (status.ok()) {
      status = (*conn)->Exec("SET synchronous_commit = off", "tuning the loading session");
    }
    if (status.ok()) {
      // Like a logical replication apply worker: foreign keys and user triggers of a target
      // that already had the schema do not fire while tables load in parallel, in any
      // order. Needs superuser; without it, tables with foreign keys may fail to load.
      absl::Status replica = (*conn)->Exec("SET session_replication_role = replica");
      if (!replica.ok()) {
        LogWarning("cannot disable foreign keys and triggers while loading (%s); load order "
                   "may violate foreign keys of an existing schema",
                   replica.message());
      }
    }
    while (status.ok() && !failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= order.size()) break;
      absl::StatusOr<TableLoadResult> loaded = LoadOne(store, stream, conn->get(), work[order[i]]);
      if (!loaded.ok()) {
        status = loaded.status();
        break;
      }
      LogInfo("loaded table \"%s\": %d rows", loaded->name, loaded->rows);
      results[order[i]] = std::move(*loaded);
    }
    if (!status.ok()) {
      absl::MutexLock lock(&mu);
      if (first_error.ok()) first_error = status;
      failed.store(true);
    }
  };
  int threads = std::max(1, std::min<int>(jobs, static_cast<int>(work.size())));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (std::thread& thread : pool) thread.join();
  if (!first_error.ok()) return first_error;
  return results;
}

}  // namespace walship::replay
