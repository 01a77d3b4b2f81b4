// list formatting and the restore drill.
#include "replay/commands/base_commands.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/pg/pg_connection.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "replay/apply/target_tables.h"
#include "replay/commands/base_restorer.h"
#include "replay/load/base_loader.h"
#include "replay/load/table_digest.h"
#include "replay/plan/base_planner.h"
#include "replay/plan/target_resolver.h"

namespace walship::replay {
namespace {

std::string Bytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrFormat("%d B", bytes);
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  if (bytes < 1024ull * 1024 * 1024) return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
  return absl::StrFormat("%.2f GiB", bytes / 1073741824.0);
}

std::string Time(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMicros(unix_us),
                          absl::UTCTimeZone());
}

absl::Status CheckEmpty(agent::pg::PgConnection* conn) {
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult tables,
      conn->Query("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON "
                  "n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN "
                  "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                  "ORDER BY 1 LIMIT 5",
                  {}, "listing the scratch database's tables"));
  if (!tables.rows.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the scratch database %s is not empty (it has table \"%s\"%s); give the drill an empty "
        "database",
        conn->Describe(), tables.rows[0][0].value_or("?"), tables.rows.size() > 1 ? ", ..." : ""));
  }
  return absl::OkStatus();
}

// Drops every user schema of the scratch database and recreates an empty public.
absl::Status ResetScratch(agent::pg::PgConnection* conn) {
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult schemas,
      conn->Query("SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', "
                  "'information_schema') AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE "
                  "'pg_temp%'",
                  {}, "listing the scratch database's schemas"));
  for (const auto& row : schemas.rows) {
    WALSHIP_RETURN_IF_ERROR(
        conn->Exec(absl::StrCat("DROP SCHEMA ", agent::pg::QuoteIdent(row[0].value_or("")), " CASCADE"),
                   "resetting the scratch database"));
  }
  return conn->Exec("CREATE SCHEMA public", "resetting the scratch database");
}

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d)); }

}  // namespace

std::string FormatBaseListing(const BaseCatalog& bases, const SegmentCatalog& changes) {
  std::string out =
      absl::StrFormat("stream %s/%s\n", changes.stream().system_id, changes.stream().slot);
  RecoveryWindow window = ComputeWindow(bases, changes);
  if (window.empty) {
    absl::StrAppend(&out, "  recovery window: none (no complete base snapshot)\n");
  } else {
    absl::StrAppendFormat(&out, "  recovery window:\n    earliest: %s  LSN %s\n    latest:   %s  LSN %s\n",
                          Time(window.earliest_time_us), window.earliest_lsn.ToString(),
                          Time(window.latest_time_us), window.latest_lsn.ToString());
  }
  uint64_t base_bytes = 0;
  absl::StrAppendFormat(&out, "  base snapshots: %d\n", bases.bases().size());
  for (const CatalogBase& base : bases.bases()) {
    base_bytes += base.object_bytes;
    const v1::BaseManifest& m = base.manifest;
    absl::StrAppendFormat(
        &out, "    base %s  %s  tables %d  rows %d  size %s  (took %s)\n",
        base.snapshot_lsn().ToString(), Time(m.snapshot_time_us()), m.tables_size(),
        base.row_count(), Bytes(base.object_bytes),
        Seconds(absl::Microseconds(m.finished_time_us() - m.started_time_us())));
    if (!m.entered_tables().empty()) {
      absl::StrAppendFormat(&out,
                            "      taken because %s entered the publication after %s with rows "
                            "no change event carries (targets in between are refused)\n",
                            absl::StrJoin(m.entered_tables(), ", "),
                            Lsn(m.entered_lsn()).ToString());
    }
    if (m.large_object_count() > 0) {
      absl::StrAppendFormat(&out,
                            "      large objects %d (%s) as of this base; later changes to "
                            "large objects are not in the change stream\n",
                            m.large_object_count(), Bytes(m.large_object_bytes()));
    }
  }
  for (const IncompleteBase& incomplete : bases.incomplete()) {
    base_bytes += incomplete.object_bytes;
    absl::StrAppendFormat(&out,
                          "    incomplete %s  %d objects, %s, no manifest (interrupted; never "
                          "used)\n",
                          incomplete.dir, incomplete.object_count, Bytes(incomplete.object_bytes));
  }
  uint64_t change_bytes = 0, transactions = 0;
  for (const CatalogSegment& segment : changes.segments()) {
    change_bytes += segment.segment_bytes;
    transactions += segment.trailer.transaction_count();
  }
  if (changes.segments().empty()) {
    absl::StrAppend(&out, "  changes: none stored\n");
  } else {
    const v1::SegmentTrailer& first = changes.segments().front().trailer;
    const v1::SegmentTrailer& last = changes.segments().back().trailer;
    absl::StrAppendFormat(&out, "  changes: %d segments, %d transactions, %s\n",
                          changes.segments().size(), transactions, Bytes(change_bytes));
    absl::StrAppendFormat(&out, "    LSN %s .. %s, committed %s .. %s\n",
                          Lsn(first.first_commit_lsn()).ToString(),
                          Lsn(last.last_end_lsn()).ToString(), Time(first.first_commit_time_us()),
                          Time(last.last_commit_time_us()));
  }
  if (changes.gaps().empty()) {
    absl::StrAppend(&out, "  gaps: none\n");
  }
  for (const StreamGap& gap : changes.gaps()) {
    absl::StrAppendFormat(&out, "  gap: %s .. %s (before \"%s\"): no restore target inside it\n",
                          gap.from.ToString(), gap.to.ToString(), gap.next_key);
  }
  std::vector<MarkInfo> marks = CollectMarks(changes);
  for (const MarkInfo& mark : marks) {
    absl::StrAppendFormat(&out, "  mark \"%s\" at %s, %s\n", mark.name, mark.commit_lsn.ToString(),
                          Time(mark.commit_time_us));
  }
  absl::StrAppendFormat(&out, "  total size: %s (bases %s, changes %s)\n",
                        Bytes(base_bytes + change_bytes), Bytes(base_bytes), Bytes(change_bytes));
  return out;
}

absl::StatusOr<DrillReport> RunDrill(sinks::ObjectStore* store, const sinks::StreamId& stream,
                                     const std::string& scratch_conninfo,
                                     const DrillOptions& options) {
  absl::Time start = absl::Now();
  WALSHIP_ASSIGN_OR_RETURN(BaseCatalog bases, BaseCatalog::Load(store, stream));
  WALSHIP_ASSIGN_OR_RETURN(SegmentCatalog changes, SegmentCatalog::Load(store, stream));
  if (bases.bases().empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "stream %s/%s has no complete base snapshot: nothing to drill", stream.system_id,
        stream.slot));
  }
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<agent::pg::PgConnection> conn,
                           agent::pg::PgConnection::Connect(scratch_conninfo, agent::pg::ConnectionKind::kNormal));
  WALSHIP_RETURN_IF_ERROR(CheckEmpty(conn.get()));
  DrillReport report;
  const CatalogBase& latest = bases.bases().back();
  BaseRestorePlan plan;
  if (bases.bases().size() == 1) {
    plan.base = latest;
    plan.changes.first_commit_lsn = latest.snapshot_lsn();
    report.lines.push_back(absl::StrFormat(
        "only one base snapshot (%s): restoring it and comparing with its own checksums "
        "(no change segments are exercised)",
        latest.snapshot_lsn().ToString()));
  } else {
    RecoveryTarget target;
    target.kind = RecoveryTarget::Kind::kLsn;
    target.lsn = Lsn(latest.snapshot_lsn().value() - 1);  // commits before the latest base
    WALSHIP_ASSIGN_OR_RETURN(plan, PlanBaseRestore(bases, changes, target));
    report.lines.push_back(absl::StrFormat(
        "restored base %s (%s) plus %d change segments up to the latest base %s (%s)",
        plan.base.snapshot_lsn().ToString(), Time(plan.base.manifest.snapshot_time_us()),
        plan.changes.segments.size(), latest.snapshot_lsn().ToString(),
        Time(latest.manifest.snapshot_time_us())));
  }
  BaseRestoreOptions restore_options;
  restore_options.jobs = options.jobs;
  WALSHIP_ASSIGN_OR_RETURN(BaseRestoreResult restored,
                           RestoreFromBase(store, stream, plan, scratch_conninfo, restore_options));
  report.lines.push_back(absl::StrFormat(
      "  %d transactions applied after the base; schema %s, copy %s, changes %s, finish %s",
      restored.changes.stats.transactions, Seconds(restored.schema_time),
      Seconds(restored.copy_time), Seconds(restored.change_time), Seconds(restored.finish_time)));
  report.equal = true;
  for (const v1::BaseTable& table : latest.manifest.tables()) {
    std::string name = DisplayName(table.relation());
    std::string quoted = agent::pg::QuoteQualified(table.relation().schema(), table.relation().table());
    absl::StatusOr<std::string> sum = TargetTableDigest(*conn, table, quoted);
    absl::StatusOr<std::optional<std::string>> rows =
        conn->QueryValue(absl::StrCat("SELECT count(*) FROM ", quoted), {}, "counting rows");
    if (!sum.ok() || !rows.ok()) {
      report.equal = false;
      report.lines.push_back(absl::StrFormat("  %-40s missing in the restore: %s", name,
                                             (!sum.ok() ? sum.status() : rows.status()).message()));
      continue;
    }
    const std::string expected = ExpectedTableDigest(table);
    bool same = *sum == expected;
    if (!same) report.equal = false;
    report.lines.push_back(
        absl::StrFormat("  %-40s %10s rows  %s", name, rows->value_or("?"),
                        same ? std::string("equal")
                             : absl::StrFormat("DIFFERENT: digest %s, the source had %s (%d rows)",
                                               *sum, expected, table.row_count())));
  }
  report.lines.push_back(absl::StrFormat("%s in %s",
                                         report.equal ? "equal: the backup restores to what the "
                                                        "source held"
                                                      : "NOT EQUAL: the restore differs from the "
                                                        "source",
                                         Seconds(absl::Now() - start)));
  if (options.to_time) {
    absl::Time second = absl::Now();
    WALSHIP_RETURN_IF_ERROR(ResetScratch(conn.get()));
    RecoveryTarget target;
    target.kind = RecoveryTarget::Kind::kTime;
    target.time = *options.to_time;
    WALSHIP_ASSIGN_OR_RETURN(BaseRestorePlan timed, PlanBaseRestore(bases, changes, target));
    WALSHIP_ASSIGN_OR_RETURN(BaseRestoreResult at_time,
                             RestoreFromBase(store, stream, timed, scratch_conninfo, restore_options));
    report.lines.push_back(absl::StrFormat(
        "restored to %s from base %s (%d transactions after it):", FormatUtc(*options.to_time),
        timed.base.snapshot_lsn().ToString(), at_time.changes.stats.transactions));
    for (const v1::BaseTable& table : timed.base.manifest.tables()) {
      std::string quoted = agent::pg::QuoteQualified(table.relation().schema(), table.relation().table());
      WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> rows,
                               conn->QueryValue(absl::StrCat("SELECT count(*) FROM ", quoted), {},
                                                "counting rows"));
      report.lines.push_back(
          absl::StrFormat("  %-40s %10s rows", DisplayName(table.relation()), rows.value_or("?")));
    }
    report.lines.push_back(absl::StrFormat("  in %s", Seconds(absl::Now() - second)));
  }
  return report;
}

}  // namespace walship::replay
