// Publication checks: which tables entered the publication holding rows.
#include "agent/stream/publication_watcher.h"

#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/log.h"

namespace walship::agent {
namespace {

// The publication's leaf tables (a partitioned table's partitions; with
// publish_via_partition_root, the partitions under each published root), each with whether
// it holds a row now.
constexpr char kPublishedLeavesSql[] = R"sql(
SELECT DISTINCT l.relid::oid::text, pg_catalog.format('%I.%I', n.nspname, c.relname)
FROM pg_catalog.pg_publication_tables p
CROSS JOIN LATERAL (SELECT pg_catalog.format('%I.%I', p.schemaname, p.tablename)
                             ::pg_catalog.regclass AS rel) r
CROSS JOIN LATERAL (
  SELECT t.relid FROM pg_catalog.pg_partition_tree(r.rel) t WHERE t.isleaf
  UNION
  SELECT r.rel WHERE (SELECT k.relkind FROM pg_catalog.pg_class k WHERE k.oid = r.rel) = 'r') l
JOIN pg_catalog.pg_class c ON c.oid = l.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1)sql";

// Every table outside the system schemas (a table that exists unpublished may enter later).
constexpr char kTablesSql[] = R"sql(
SELECT c.oid::text FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'walship')
  AND n.nspname NOT LIKE 'pg\_%')sql";

// Whether the transaction with 32-bit id $1 is visible to a snapshot taken now: the server
// sends a commit before the committing backend leaves the proc array, and the catalog read
// after it must see the transaction's schema change. The full id is the one below the
// snapshot's xmax with those low bits.
constexpr char kVisibleSql[] = R"sql(
SELECT pg_catalog.pg_visible_in_snapshot(
  (CASE WHEN b.base + $1::numeric > m.xmax THEN b.base + $1::numeric - 4294967296
        ELSE b.base + $1::numeric END)::text::pg_catalog.xid8, s.snap)
FROM (SELECT pg_catalog.pg_current_snapshot() AS snap) s
CROSS JOIN LATERAL (SELECT pg_catalog.pg_snapshot_xmax(s.snap)::text::numeric AS xmax) m
CROSS JOIN LATERAL (SELECT floor(m.xmax / 4294967296) * 4294967296 AS base) b)sql";

}  // namespace


PublicationWatcher::PublicationWatcher(pg::SessionFactory connect, std::string publication,
                                       absl::Duration interval, EnteredCallback on_entered)
    : connect_(std::move(connect)),
      publication_(std::move(publication)),
      interval_(interval),
      on_entered_(std::move(on_entered)) {}

void PublicationWatcher::Note(const PgOutputMessage& message) {
  if (const auto* begin = std::get_if<BeginMessage>(&message)) {
    current_xid_ = begin->xid;
    current_commit_time_us_ = begin->commit_time_us;
  } else if (const auto* start = std::get_if<StreamStartMessage>(&message)) {
    current_xid_ = start->xid;
    current_commit_time_us_ = 0;  // known at its commit; the previous check's time stands
  } else if (const auto* logical = std::get_if<LogicalMessage>(&message)) {
    if (logical->prefix == "walship.ddl") {
      check_due_ = true;
      ddl_xid_ = logical->xid.value_or(current_xid_);
      if (!first_ddl_lsn_.valid()) {
        first_ddl_lsn_ = logical->lsn;
        first_ddl_time_us_ =
            current_commit_time_us_ != 0 ? current_commit_time_us_ : checked_at_time_us_;
      }
    }
  }
}

bool PublicationWatcher::DdlVisible(absl::Time now, pg::Session& conn) {
  if (!ddl_xid_.has_value()) return true;
  if (ddl_seen_at_ == absl::InfinitePast()) ddl_seen_at_ = now;
  absl::StatusOr<std::optional<std::string>> visible = conn.QueryValue(
      kVisibleSql, {ddl_xid_->ToString()}, "waiting for a schema change to be visible");
  // Not yet visible: the next turn asks again (for at most a few seconds: a streamed
  // transaction that aborted never becomes visible).
  if (visible.ok() && visible->value_or("f") != "t" && now - ddl_seen_at_ < absl::Seconds(5)) {
    return false;
  }
  if (!visible.ok()) LogWarning("%s", visible.status().message());
  ddl_xid_.reset();
  ddl_seen_at_ = absl::InfinitePast();
  return true;
}

void PublicationWatcher::Check(absl::Time now, Lsn last_handed,
                               const std::function<pg::Session*()>& side) {
  if (!on_entered_) return;
  if (!check_due_ && now < next_check_) return;
  // At most one check every 200 ms: a migration of many small DDL transactions is checked
  // once per burst, not once per transaction (each check opens a session).
  if (now < last_check_ + absl::Milliseconds(200)) return;
  pg::Session* conn = side();
  if (conn == nullptr) return;
  if (!DdlVisible(now, *conn)) return;
  // A session of its own: a long-lived one may read the catalog through a catalog snapshot
  // that predates the schema change (kept until its invalidation messages arrive, which the
  // committing backend sends after it becomes visible).
  absl::StatusOr<std::unique_ptr<pg::Session>> fresh = connect_();
  if (!fresh.ok()) {
    LogWarning("checking the publication's tables: %s", fresh.status().message());
    return;
  }
  conn = fresh->get();
  // The tables first: one created between the two reads then counts as published, never as
  // one that was there before (which only a later check may say).
  absl::StatusOr<pg::QueryResult> tables = conn->Query(kTablesSql, {}, "listing the tables");
  absl::StatusOr<pg::QueryResult> leaves =
      tables.ok() ? conn->Query(kPublishedLeavesSql, {publication_},
                                "listing the published tables")
                  : tables.status();
  if (!leaves.ok()) {
    LogWarning("checking the publication's tables: %s", leaves.status().message());
    return;
  }
  check_due_ = false;
  last_check_ = now;
  next_check_ = now + interval_;
  absl::flat_hash_set<uint32_t> current;
  std::vector<std::string> entered;
  for (const auto& row : leaves->rows) {
    uint32_t oid = 0;
    if (!absl::SimpleAtoi(row[0].value_or(""), &oid)) continue;
    current.insert(oid);
    // New in the publication. A table that was there at the previous check (unpublished, or
    // unlogged) brings the rows it holds; one created since is left alone: its rows came
    // with it through the stream or with its statement (CREATE TABLE AS writes rows that
    // logical decoding does not send; replay runs the captured statement).
    if (!published_leaves_.has_value() || published_leaves_->contains(oid) ||
        !existing_tables_.contains(oid)) {
      continue;
    }
    const std::string name = row[1].value_or("");
    absl::StatusOr<std::optional<std::string>> has_rows = conn->QueryValue(
        absl::StrCat("SELECT EXISTS (SELECT 1 FROM ONLY ", name, ")"), {},
        absl::StrFormat("checking whether %s holds rows", name));
    if (!has_rows.ok()) {
      LogWarning("%s", has_rows.status().message());
      continue;
    }
    if (has_rows->value_or("f") == "t") entered.push_back(name);
  }
  published_leaves_ = std::move(current);
  existing_tables_.clear();
  for (const auto& row : tables->rows) {
    uint32_t oid = 0;
    if (absl::SimpleAtoi(row[0].value_or(""), &oid)) existing_tables_.insert(oid);
  }
  // They entered in a schema change since the previous check: at the earliest, the first
  // captured one's (or, without captured DDL, the previous check's position).
  Lsn since = first_ddl_lsn_.valid() ? first_ddl_lsn_ : checked_at_lsn_;
  int64_t since_us = first_ddl_lsn_.valid() ? first_ddl_time_us_ : checked_at_time_us_;
  checked_at_lsn_ = last_handed;
  checked_at_time_us_ = last_handed_commit_time_us_;
  first_ddl_lsn_ = Lsn();
  if (entered.empty()) return;
  LogWarning("%s entered publication \"%s\" holding rows that no change event carries "
             "(ATTACH PARTITION, SET LOGGED or ALTER PUBLICATION ... ADD TABLE): taking a base "
             "so that restores from here on have them",
             absl::StrJoin(entered, ", "), publication_);
  on_entered_(std::move(entered), since, since_us);
}

}  // namespace walship::agent
