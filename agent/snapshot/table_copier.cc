// COPY TO STDOUT → CopyRows records → base segment objects.
#include "agent/snapshot/table_copier.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/pg/copy.h"
#include "proto/core/failpoint.h"
#include "proto/core/status_macros.h"
#include "proto/row_digest.h"
#include "proto/segment_writer.h"

namespace walship::agent::snapshot {
namespace {

// One base segment being built in memory.
class SegmentInProgress {
 public:
  // `relation`, when given, is the segment's first record.
  static absl::StatusOr<std::unique_ptr<SegmentInProgress>> Start(const CopyTarget& target,
                                                                  const v1::Relation* relation) {
    auto segment = std::unique_ptr<SegmentInProgress>(new SegmentInProgress());
    proto::SegmentWriterOptions options;
    options.zstd_level = target.zstd_level;
    WALSHIP_ASSIGN_OR_RETURN(
        segment->writer_, proto::SegmentWriter::Create(&segment->sink_, *target.header, options));
    if (relation != nullptr) {
      v1::Record record;
      *record.mutable_relation_def() = *relation;
      WALSHIP_RETURN_IF_ERROR(segment->writer_->Add(record));
    }
    return segment;
  }

  absl::Status Add(const v1::Record& record) { return writer_->Add(record); }
  uint64_t raw_bytes() const { return writer_->raw_bytes(); }

  // Finishes the segment and stores it under `key` in every store; returns its size.
  absl::StatusOr<uint64_t> Store(const CopyTarget& target, const std::string& key) {
    WALSHIP_RETURN_IF_ERROR(writer_->Finish(/*previous_end_lsn=*/0));
    std::string data = sink_.Release();
    for (sinks::ObjectStore* store : target.stores) {
      absl::Status status = store->Put(key, data);
      if (!status.ok()) {
        return absl::Status(status.code(), absl::StrFormat("writing base object \"%s\" to %s: %s",
                                                           key, store->url(), status.message()));
      }
    }
    CrashPoint("base_segment_stored");
    return data.size();
  }

 private:
  SegmentInProgress() = default;
  proto::StringByteSink sink_;
  std::unique_ptr<proto::SegmentWriter> writer_;
};

}  // namespace

absl::StatusOr<v1::BaseTable> CopyTable(
    pg::PgConnection& conn, const PublishedTable& table, const TableChunk& chunk,
    const CopyTarget& target, const std::function<void(uint64_t rows, uint64_t bytes)>& on_progress,
    const std::atomic<bool>* cancel) {
  const v1::Relation& relation = table.relation;
  std::string name = absl::StrFormat("\"%s.%s\"", relation.schema(), relation.table());
  if (!chunk.whole()) {
    absl::StrAppend(&name, absl::StrFormat(" (pages %d to %s)", chunk.first_page,
                                           chunk.end_page == 0 ? std::string("the end")
                                                               : absl::StrCat(chunk.end_page)));
  }
  v1::BaseTable result;
  *result.mutable_relation() = relation;

  // The coordinating connection holds ACCESS SHARE on every table; a DDL statement queued
  // behind it would make this COPY wait behind the DDL, and the DDL wait for the base to end:
  // never wait here, retake the snapshot after the DDL instead.
  absl::Status locked =
      conn.Exec(absl::StrCat("LOCK TABLE ", TableSource(table), " IN ACCESS SHARE MODE NOWAIT"),
                absl::StrFormat("locking %s", name));
  if (!locked.ok()) {
    if (absl::StrContains(locked.message(), "could not obtain lock")) {
      return absl::AbortedError(absl::StrFormat(
          "%s (a DDL statement or TRUNCATE is waiting for %s; the snapshot is retaken once it "
          "is through)",
          locked.message(), name));
    }
    return locked;
  }
  // The relation's columns by name: stored generated columns are left out, as pgoutput
  // leaves them out of the stream, and the target computes them again.
  std::vector<std::string> columns;
  for (const v1::Column& column : relation.columns()) columns.push_back(pg::QuoteIdent(column.name()));
  std::string sql =
      absl::StrCat("COPY (SELECT ", absl::StrJoin(columns, ", "), " FROM ", TableSource(table));
  // A TID range scan (PostgreSQL 14+) reads only the chunk's pages.
  std::vector<std::string> range;
  if (chunk.first_page > 0)
    range.push_back(absl::StrFormat("ctid >= '(%d,0)'::tid", chunk.first_page));
  if (chunk.end_page > 0) range.push_back(absl::StrFormat("ctid < '(%d,0)'::tid", chunk.end_page));
  if (!range.empty()) absl::StrAppend(&sql, " WHERE ", absl::StrJoin(range, " AND "));
  absl::StrAppend(&sql, ") TO STDOUT");
  if (absl::Status started = pg::BeginCopy(conn, sql, pg::CopyDirection::kOut); !started.ok()) {
    return absl::UnavailableError(
        absl::StrFormat("copying %s from %s: %s", name, conn.Describe(), started.message()));
  }

  std::atomic<uint32_t> own_numbers{0};
  std::atomic<uint32_t>* object_numbers =
      chunk.object_numbers != nullptr ? chunk.object_numbers : &own_numbers;
  bool stored_any = false;
  uint64_t total_rows = 0;
  uint64_t segment_rows = 0;  // rows in the current (unstored) object
  proto::RowDigest digest;
  WALSHIP_ASSIGN_OR_RETURN(auto segment, SegmentInProgress::Start(target, &relation));
  v1::Record batch;
  v1::CopyRows* rows = batch.mutable_copy_rows();
  rows->set_relation_oid(relation.oid());

  auto store_segment = [&]() -> absl::Status {
    std::string key = sinks::BaseSegmentKey(*target.stream, target.snapshot_lsn, relation.schema(),
                                            relation.table(), object_numbers->fetch_add(1));
    WALSHIP_ASSIGN_OR_RETURN(uint64_t size, segment->Store(target, key));
    result.add_object_keys(key);
    result.set_bytes(result.bytes() + size);
    stored_any = true;
    return absl::OkStatus();
  };
  auto flush_batch = [&]() -> absl::Status {
    if (rows->row_count() == 0) return absl::OkStatus();
    WALSHIP_RETURN_IF_ERROR(segment->Add(batch));
    segment_rows += rows->row_count();
    rows->set_row_count(0);
    rows->clear_data();
    if (segment->raw_bytes() >= target.object_bytes) {
      WALSHIP_RETURN_IF_ERROR(store_segment());
      segment_rows = 0;
      WALSHIP_ASSIGN_OR_RETURN(segment, SegmentInProgress::Start(target, &relation));
    }
    return absl::OkStatus();
  };

  uint64_t pending_rows = 0, pending_bytes = 0;
  std::string* data = rows->mutable_data();
  while (true) {
    absl::StatusOr<std::optional<size_t>> len = pg::AppendCopyRow(conn, data);
    if (!len.ok()) {
      return absl::UnavailableError(absl::StrFormat("copying %s from %s: %s", name,
                                                    conn.Describe(), len.status().message()));
    }
    if (!len->has_value()) break;  // end of COPY
    digest.Add(absl::string_view(*data).substr(data->size() - **len));
    rows->set_row_count(rows->row_count() + 1);
    ++total_rows;
    ++pending_rows;
    pending_bytes += **len;
    if (data->size() >= target.batch_bytes) {
      if (cancel != nullptr && cancel->load()) {
        return absl::CancelledError(absl::StrCat("base snapshot cancelled while copying ", name));
      }
      WALSHIP_RETURN_IF_ERROR(flush_batch());
      data = rows->mutable_data();
      if (on_progress) on_progress(pending_rows, pending_bytes);
      pending_rows = pending_bytes = 0;
    }
  }
  absl::StatusOr<uint64_t> sent = pg::CopyResult(conn);
  if (!sent.ok()) {
    return absl::UnavailableError(
        absl::StrFormat("copying %s from %s: %s", name, conn.Describe(), sent.status().message()));
  }
  if (*sent != total_rows) {
    return absl::InternalError(absl::StrFormat(
        "copying %s: the server says COPY sent %d rows but %d arrived", name, *sent, total_rows));
  }
  WALSHIP_RETURN_IF_ERROR(flush_batch());
  if (on_progress) on_progress(pending_rows, pending_bytes);
  // The last object: always at least one per chunk (it carries the RelationDef).
  if (!stored_any || segment_rows > 0) {
    WALSHIP_RETURN_IF_ERROR(store_segment());
  }
  result.set_row_count(total_rows);
  result.set_row_digest(digest.Hex());
  return result;
}

std::vector<ChunkPlan> PlanChunks(const std::vector<PublishedTable>& tables, int jobs,
                                  uint64_t min_chunk_pages) {
  constexpr uint64_t kMaxChunks = 64;
  uint64_t total = 0;
  for (const PublishedTable& table : tables) total += table.pages;
  const uint64_t jobs_u = static_cast<uint64_t>(std::max(1, jobs));
  const uint64_t chunk_pages =
      std::max<uint64_t>({1, min_chunk_pages, (total + 2 * jobs_u - 1) / (2 * jobs_u)});
  std::vector<ChunkPlan> plan;
  for (size_t i = 0; i < tables.size(); ++i) {
    const uint64_t pages = tables[i].pages;
    if (jobs_u < 2 || !tables[i].splittable || pages < 2 * chunk_pages) {
      plan.push_back(ChunkPlan{i, 0, 0, pages});
      continue;
    }
    const uint64_t parts = std::min(kMaxChunks, (pages + chunk_pages - 1) / chunk_pages);
    const uint64_t step = (pages + parts - 1) / parts;
    for (uint64_t k = 0; k < parts; ++k) {
      const uint64_t first = k * step;
      const uint64_t end = k + 1 == parts ? 0 : (k + 1) * step;
      plan.push_back(ChunkPlan{i, first, end, std::min(step, pages - std::min(pages, first))});
    }
  }
  // The largest first, so the last to start are small (ties keep the catalog's order).
  std::stable_sort(plan.begin(), plan.end(),
                   [](const ChunkPlan& a, const ChunkPlan& b) { return a.pages > b.pages; });
  return plan;
}

absl::StatusOr<LargeObjectsCopy> CopyLargeObjects(pg::PgConnection& conn,
                                                  const CopyTarget& target,
                                                  const std::atomic<bool>* cancel,
                                                  uint64_t chunk_bytes) {
  LargeObjectsCopy result;
  WALSHIP_ASSIGN_OR_RETURN(
      pg::QueryResult oids,
      conn.Query("SELECT oid::text FROM pg_catalog.pg_largeobject_metadata ORDER BY oid", {},
                 "listing the large objects"));
  if (oids.rows.empty()) return result;
  uint32_t object_number = 0;
  std::unique_ptr<SegmentInProgress> segment;
  auto store_segment = [&]() -> absl::Status {
    std::string key = sinks::BaseSegmentKey(*target.stream, target.snapshot_lsn, "pg_catalog",
                                            "pg_largeobject", object_number++);
    WALSHIP_RETURN_IF_ERROR(segment->Store(target, key).status());
    result.keys.push_back(key);
    segment.reset();
    return absl::OkStatus();
  };
  const std::string length = absl::StrCat(chunk_bytes);
  for (const auto& row : oids.rows) {
    const std::string oid = row[0].value_or("");
    uint32_t oid_value = 0;
    if (!absl::SimpleAtoi(oid, &oid_value)) {
      return absl::DataLossError(absl::StrCat("unexpected large object oid \"", oid, "\""));
    }
    for (uint64_t offset = 0;; offset += chunk_bytes) {
      if (cancel != nullptr && cancel->load()) {
        return absl::CancelledError("base snapshot cancelled while copying large objects");
      }
      absl::StatusOr<std::optional<std::string>> piece = conn.QueryValue(
          "SELECT pg_catalog.encode(pg_catalog.lo_get($1::oid, $2::bigint, $3::int), 'hex')",
          {oid, absl::StrCat(offset), length},
          absl::StrFormat("reading large object %s", oid));
      if (!piece.ok()) {
        return absl::Status(
            piece.status().code(),
            absl::StrCat(piece.status().message(),
                         " (the base copies every large object: grant the agent's role SELECT "
                         "on them, or run it as a superuser)"));
      }
      std::string data = absl::HexStringToBytes(piece->value_or(""));
      if (segment == nullptr) {
        WALSHIP_ASSIGN_OR_RETURN(segment, SegmentInProgress::Start(target, nullptr));
      }
      v1::Record record;
      v1::LargeObjectChunk* chunk = record.mutable_large_object();
      chunk->set_oid(oid_value);
      chunk->set_offset(offset);
      const bool last = data.size() < chunk_bytes;
      result.bytes += data.size();
      chunk->set_data(std::move(data));
      WALSHIP_RETURN_IF_ERROR(segment->Add(record));
      if (segment->raw_bytes() >= target.object_bytes) WALSHIP_RETURN_IF_ERROR(store_segment());
      if (last) break;
    }
    ++result.count;
  }
  if (segment != nullptr) WALSHIP_RETURN_IF_ERROR(store_segment());
  return result;
}

}  // namespace walship::agent::snapshot
