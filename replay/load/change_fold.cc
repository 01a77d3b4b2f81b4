// Reading the change window into folded tables.
#include "replay/load/change_fold.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "replay/apply/ddl_applier.h"
#include "replay/catalog/segment_records.h"
#include "replay/apply/target_tables.h"

namespace walship::replay {
namespace {

// Whether a stream's description of a table is the base's, column for column (a renamed,
// added, dropped or retyped column, or another key, is not).
bool SameShape(const v1::Relation& stream, const v1::Relation& base) {
  if (stream.schema() != base.schema() || stream.table() != base.table() ||
      stream.columns_size() != base.columns_size()) {
    return false;
  }
  for (int i = 0; i < stream.columns_size(); ++i) {
    const v1::Column& a = stream.columns(i);
    const v1::Column& b = base.columns(i);
    if (a.name() != b.name() || a.type_oid() != b.type_oid() ||
        a.type_modifier() != b.type_modifier() || a.key() != b.key()) {
      return false;
    }
  }
  return true;
}

}  // namespace

FoldedTable* ChangeFold::Table(RelationOid oid) {
  auto it = tables_.find(oid);
  return it == tables_.end() || it->second->empty() ? nullptr : it->second.get();
}

uint64_t ChangeFold::memory_bytes() const {
  uint64_t total = 0;
  for (const auto& [oid, table] : tables_) total += table->memory_bytes();
  return total;
}

absl::StatusOr<std::unique_ptr<ChangeFold>> ChangeFold::Build(sinks::ObjectStore* store,
                                                              const RestorePlan& plan,
                                                              const v1::BaseManifest& manifest,
                                                              const FoldOptions& options) {
  std::unique_ptr<ChangeFold> fold(new ChangeFold());
  absl::flat_hash_map<RelationOid, const v1::Relation*> base;
  for (const v1::BaseTable& table : manifest.tables()) {
    base[proto::OidOf(table.relation())] = &table.relation();
  }
  struct Described {
    v1::Relation relation;
    bool in_segment = false;
  };
  absl::flat_hash_map<RelationOid, Described> described;
  ApplierStats& stats = fold->stats_;
  uint64_t memory = 0;
  bool cut = false;
  uint64_t window_events = 0;
  for (const CatalogSegment& segment : plan.segments)
    window_events += segment.trailer.event_count();
  for (const CatalogSegment& segment : plan.segments) {
    for (auto& [oid, entry] : described) entry.in_segment = false;
    WALSHIP_ASSIGN_OR_RETURN(
        bool complete,
        ForEachSegmentRecord(store, segment, [&](const v1::Record& record) -> absl::StatusOr<bool> {
          if (record.has_relation_def()) {
            described[proto::OidOf(record.relation_def())] = {record.relation_def(), true};
            return true;
          }
          if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
            return absl::CancelledError("the restore stopped while the change window was read");
          }
          if (!record.has_event()) return true;
          const v1::Event& event = record.event();
          const EventPosition position = proto::PositionOf(event);
          if (position.commit_lsn < plan.first_commit_lsn) return true;
          if (stats.events > 0 &&
              position <= EventPosition{stats.last_commit_lsn, stats.last_sequence}) {
            return true;  // stored twice (a segment written again after a crash)
          }
          if (PastTarget(plan, position.commit_lsn, event.commit_time_us())) {
            fold->stopped_at_target_ = true;
            return false;
          }
          auto stop = [&](std::string reason) {
            cut = true;
            fold->resume_at_ = position;
            fold->cut_reason_ =
                absl::StrFormat("%s at commit LSN %s (xid %u, event %u)", reason,
                                position.commit_lsn.ToString(), event.xid(), event.sequence());
            return false;
          };
          if (memory >= options.memory_limit_bytes) {
            return stop(absl::StrFormat("the folded changes reached %d MiB", memory >> 20));
          }
          switch (event.op()) {
            case v1::MESSAGE:
              if (event.message().prefix() == kDdlMessagePrefix) return stop("a schema change");
              break;  // marks and heartbeats change no rows
            case v1::INSERT:
            case v1::UPDATE:
            case v1::DELETE: {
              const v1::Relation& reference = event.relation();
              if (reference.columns_size() > 0) described[proto::OidOf(reference)] = {reference, true};
              auto known = described.find(proto::OidOf(reference));
              auto in_base = base.find(proto::OidOf(reference));
              if (known == described.end() || !known->second.in_segment || in_base == base.end() ||
                  !SameShape(known->second.relation, *in_base->second) ||
                  !FoldedTable::CanFold(known->second.relation)) {
                return stop(absl::StrFormat("a change of \"%s\" (no key, or not as in the base)",
                                            known == described.end()
                                                ? absl::StrCat(reference.oid())
                                                : DisplayName(known->second.relation)));
              }
              std::unique_ptr<FoldedTable>& table = fold->tables_[proto::OidOf(reference)];
              if (table == nullptr) {
                table = std::make_unique<FoldedTable>(*in_base->second);
                // Control bytes only until used: the window's event count bounds the keys.
                table->Reserve(std::min<uint64_t>(window_events, options.memory_limit_bytes / 128));
              }
              uint64_t before = table->memory_bytes();
              if (!table->Fold(event)) {
                return stop(absl::StrFormat("a %s of \"%s\" that needs a statement",
                                            proto::OperationName(event.op()),
                                            DisplayName(*in_base->second)));
              }
              memory = memory - before + table->memory_bytes();
              break;
            }
            default:
              return stop(absl::StrFormat("a %s", proto::OperationName(event.op())));
          }
          if (stats.events == 0 || position.commit_lsn != stats.last_commit_lsn) {
            ++stats.transactions;
          }
          ++stats.events;
          stats.last_commit_lsn = position.commit_lsn;
          stats.last_sequence = event.sequence();
          stats.last_commit_time_us = event.commit_time_us();
          stats.committed_commit_lsn = position.commit_lsn;
          return true;
        }));
    if (!complete) break;
  }
  fold->complete_ = !cut;
  return fold;
}

}  // namespace walship::replay
