// Reading the change window into folded tables, cutting tables one at a time.
#include "replay/load/change_fold.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/log.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "replay/apply/ddl_applier.h"
#include "replay/apply/target_tables.h"
#include "replay/catalog/segment_prefetcher.h"

namespace walship::replay {
namespace {

// Whether a stream's description of a table is the base's, column for column (a renamed,
// added, dropped or retyped column, or another key, is not).
bool SameShape(const v1::Relation& stream, const v1::Relation& base) {
  if (stream.schema() != base.schema() || stream.table() != base.table() ||
      stream.columns_size() != base.columns_size() ||
      stream.replica_identity() != base.replica_identity()) {
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

// Commands whose effect on rows is confined to the tables their message names (none, for an
// index or a view): folding other tables past them is exact. Any other command (a type, a
// function, a rule) may change how rows of any table read or are stored, so it cuts every
// table. A partition or inheritance change moves rows between tables: also every table.
bool AboutNamedTables(const DdlMessage& message) {
  static constexpr absl::string_view kTags[] = {
      "CREATE TABLE", "ALTER TABLE", "DROP TABLE",        "CREATE INDEX",     "ALTER INDEX",
      "DROP INDEX",   "COMMENT",     "CREATE VIEW",       "DROP VIEW",        "ALTER VIEW",
      "GRANT",        "REVOKE",      "CREATE STATISTICS"};
  if (std::find(std::begin(kTags), std::end(kTags), message.tag) == std::end(kTags)) return false;
  const std::string query = absl::AsciiStrToUpper(message.query);
  // Rows moving between tables, or a check that reads another table (which may be at
  // another moment of the stream than the one the check ran at).
  for (absl::string_view moving :
       {"PARTITION", "INHERIT", " OF ", "LIKE", "FOREIGN", "REFERENCES", "VALIDATE"}) {
    if (absl::StrContains(query, moving)) return false;
  }
  return true;
}

std::string At(const EventPosition& position, const v1::Event& event) {
  return absl::StrFormat("commit LSN %s (xid %u, event %u)", position.commit_lsn.ToString(),
                         event.xid(), event.sequence());
}

}  // namespace

// One pass over the window, filling a ChangeFold.
class WindowFolder {
 public:
  WindowFolder(ChangeFold* fold, const RestorePlan& plan, const v1::BaseManifest& manifest,
               const FoldOptions& options)
      : fold_(fold), plan_(plan), options_(options) {
    for (const v1::BaseTable& table : manifest.tables()) {
      base_[proto::OidOf(table.relation())] = &table.relation();
    }
  }

  absl::Status Run(sinks::ObjectStore* store) {
    // Decoding (decompressing and parsing) the window costs about as much as folding it:
    // it runs ahead on other threads.
    const int threads = std::clamp<int>(std::thread::hardware_concurrency(), 1, 4);
    SegmentPrefetcher segments(store, plan_.segments, threads, 2 * threads);
    for (size_t i = 0; i < plan_.segments.size(); ++i) {
      for (auto& [oid, entry] : described_) entry.in_segment = false;
      WALSHIP_ASSIGN_OR_RETURN(std::vector<v1::Record> records, segments.Take(i));
      bool go_on = true;
      for (const v1::Record& record : records) {
        WALSHIP_ASSIGN_OR_RETURN(go_on, Take(record));
        if (!go_on) break;
      }
      if (!go_on) break;
    }
    fold_->stats_.transactions = transactions_;
    fold_->complete_ = fold_->cut_.empty() && !fold_->all_cut_ && !first_statement_;
    if (!fold_->complete_) {
      std::optional<EventPosition> start = first_statement_;
      auto earlier = [&start](const EventPosition& p) {
        if (!start || p < *start) start = p;
      };
      for (const auto& [oid, position] : fold_->cut_) earlier(position);
      if (fold_->all_cut_) earlier(*fold_->all_cut_);
      fold_->start_at_ = *start;
    }
    return absl::OkStatus();
  }

 private:
  struct Described {
    v1::Relation relation;
    bool in_segment = false;
  };

  absl::StatusOr<bool> Take(const v1::Record& record) {
    if (record.has_relation_def()) {
      described_[proto::OidOf(record.relation_def())] = {record.relation_def(), true};
      return true;
    }
    if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed)) {
      return absl::CancelledError("the restore stopped while the change window was read");
    }
    if (!record.has_event()) return true;
    const v1::Event& event = record.event();
    const EventPosition position = proto::PositionOf(event);
    if (position.commit_lsn < plan_.first_commit_lsn) return true;
    if (read_any_ && position <= last_read_) return true;  // stored twice (a crash)
    if (PastTarget(plan_, position.commit_lsn, event.commit_time_us())) {
      fold_->stopped_at_target_ = true;
      return false;
    }
    read_any_ = true;
    last_read_ = position;
    if (transactions_ == 0 || position.commit_lsn != last_transaction_) {
      ++transactions_;
      last_transaction_ = position.commit_lsn;
    }
    if (memory_ >= options_.memory_limit_bytes) {
      return CutAll(position, event,
                    absl::StrFormat("the folded changes reached %d MiB", memory_ >> 20));
    }
    switch (event.op()) {
      case v1::MESSAGE:
        if (event.message().prefix() == kDdlMessagePrefix) return SchemaChange(event, position);
        Folded(event, position);  // marks and heartbeats change no rows
        return true;
      case v1::INSERT:
      case v1::UPDATE:
      case v1::DELETE:
        return RowChange(event, position);
      case v1::TRUNCATE: {
        std::vector<RelationOid> oids;
        for (const v1::Relation& relation : event.truncate().relations()) {
          oids.push_back(proto::OidOf(relation));
        }
        if (oids.empty()) oids.push_back(proto::OidOf(event.relation()));
        // With CASCADE the target truncates more than the event may list: the Applier's.
        if (!event.truncate().cascade() && TruncateFolds(oids)) {
          // Each table folds anew on no base rows: its state from here on is what the
          // window adds after the TRUNCATE (sequences are set at the end either way).
          for (RelationOid oid : oids) {
            std::unique_ptr<FoldedTable>& table = fold_->tables_[oid];
            if (table != nullptr) memory_ -= std::min(memory_, table->memory_bytes());
            table = std::make_unique<FoldedTable>(*base_.at(oid), fold_->spill_.get());
            table->DropBase();
          }
          Folded(event, position);
          return true;
        }
        for (RelationOid oid : oids) {
          if (!Cut(oid, position, event, "a TRUNCATE")) return false;
        }
        Statement(position);
        return true;
      }
      default:
        return CutAll(position, event, absl::StrFormat("a %s", proto::OperationName(event.op())));
    }
  }

  // A TRUNCATE (without CASCADE) folds when every table it empties folds by table (none
  // cut yet, each in the base and described as there): else the Applier runs it, and it
  // cuts them all.
  bool TruncateFolds(const std::vector<RelationOid>& oids) const {
    if (!options_.per_table) return false;
    for (RelationOid oid : oids) {
      auto in_base = base_.find(oid);
      if (fold_->cut_.contains(oid) || in_base == base_.end()) return false;
      auto known = described_.find(oid);
      if (known != described_.end() && !SameShape(known->second.relation, *in_base->second)) {
        return false;
      }
    }
    return true;
  }

  bool SchemaChange(const v1::Event& event, const EventPosition& position) {
    absl::StatusOr<DdlMessage> message = ParseDdlMessage(event.message().content());
    if (!message.ok() || !AboutNamedTables(*message)) {
      return CutAll(
          position, event,
          absl::StrFormat("a schema change (%s)", message.ok() ? message->tag : "unreadable"));
    }
    for (const DdlTable& table : message->tables) {
      if (!Cut(table.oid, position, event, absl::StrFormat("a schema change (%s)", message->tag))) {
        return false;
      }
    }
    Statement(position);
    return true;
  }

  bool RowChange(const v1::Event& event, const EventPosition& position) {
    const v1::Relation& reference = event.relation();
    const RelationOid oid = proto::OidOf(reference);
    if (reference.columns_size() > 0) described_[oid] = {reference, true};
    if (fold_->cut_.contains(oid)) return true;
    auto known = described_.find(oid);
    auto in_base = base_.find(oid);
    if (known == described_.end() || !known->second.in_segment || in_base == base_.end() ||
        !SameShape(known->second.relation, *in_base->second)) {
      return Cut(oid, position, event,
                 "a change not as in the base (not in it, or described otherwise)");
    }
    std::unique_ptr<FoldedTable>& table = fold_->tables_[oid];
    if (table == nullptr) {
      table = std::make_unique<FoldedTable>(*in_base->second, fold_->spill_.get());
    }
    const uint64_t before = table->memory_bytes();
    if (!table->Fold(event)) {
      return Cut(oid, position, event,
                 absl::StrFormat("a %s that needs a statement", proto::OperationName(event.op())));
    }
    memory_ = memory_ - before + table->memory_bytes();
    if (fold_->spill_ != nullptr && memory_ >= options_.memory_limit_bytes / 4) {
      fold_->spill_->set_spilling(true);
    }
    Folded(event, position);
    return true;
  }

  void Folded(const v1::Event& event, const EventPosition& position) {
    ApplierStats& stats = fold_->stats_;
    ++stats.events;
    stats.last_commit_lsn = position.commit_lsn;
    stats.last_sequence = event.sequence();
    stats.last_commit_time_us = event.commit_time_us();
    stats.committed_commit_lsn = position.commit_lsn;
  }

  // A schema change or TRUNCATE: the Applier runs it in its place.
  void Statement(const EventPosition& position) {
    if (!first_statement_) first_statement_ = position;
  }

  // Returns false when the reading ends (the cut is of every table).
  bool Cut(RelationOid oid, const EventPosition& position, const v1::Event& event,
           const std::string& reason) {
    if (!options_.per_table) return CutAll(position, event, reason);
    if (!fold_->cut_.try_emplace(oid, position).second) return true;
    auto known = described_.find(oid);
    auto in_base = base_.find(oid);
    const std::string name = known != described_.end() ? DisplayName(known->second.relation)
                             : in_base != base_.end()  ? DisplayName(*in_base->second)
                                                       : absl::StrCat(oid.value());
    fold_->cut_reasons_.push_back(
        absl::StrFormat("\"%s\" from %s: %s", name, At(position, event), reason));
    return true;
  }

  // Every table from `position` on; the reading ends. A transaction cut in the middle is
  // counted by the Applier.
  bool CutAll(const EventPosition& position, const v1::Event& event, const std::string& reason) {
    fold_->all_cut_ = position;
    fold_->cut_reasons_.push_back(
        absl::StrFormat("every table from %s: %s", At(position, event), reason));
    --transactions_;
    return false;
  }

  ChangeFold* fold_;
  const RestorePlan& plan_;
  const FoldOptions& options_;
  absl::flat_hash_map<RelationOid, const v1::Relation*> base_;
  absl::flat_hash_map<RelationOid, Described> described_;
  uint64_t memory_ = 0;
  uint64_t transactions_ = 0;
  Lsn last_transaction_;
  bool read_any_ = false;
  EventPosition last_read_;
  std::optional<EventPosition> first_statement_;
};

FoldedTable* ChangeFold::Table(RelationOid oid) {
  auto it = tables_.find(oid);
  return it == tables_.end() || it->second->empty() ? nullptr : it->second.get();
}

bool ChangeFold::TableFinal(RelationOid oid) const { return !all_cut_ && !cut_.contains(oid); }

bool ChangeFold::Folded(const v1::Event& event) const {
  const EventPosition position = proto::PositionOf(event);
  if (all_cut_ && !(position < *all_cut_)) return false;
  switch (event.op()) {
    case v1::MESSAGE:
      return event.message().prefix() != kDdlMessagePrefix;
    case v1::INSERT:
    case v1::UPDATE:
    case v1::DELETE: {
      auto cut = cut_.find(proto::OidOf(event.relation()));
      return cut == cut_.end() || position < cut->second;
    }
    case v1::TRUNCATE: {  // folded when it came before the cuts of all its tables
      auto before_cut = [&](const v1::Relation& relation) {
        auto cut = cut_.find(proto::OidOf(relation));
        return cut == cut_.end() || position < cut->second;
      };
      if (event.truncate().relations().empty()) return before_cut(event.relation());
      return std::all_of(event.truncate().relations().begin(), event.truncate().relations().end(),
                         before_cut);
    }
    default:
      return false;
  }
}

std::string ChangeFold::cut_reason() const {
  constexpr size_t kShown = 5;
  std::vector<std::string> shown(cut_reasons_.begin(),
                                 cut_reasons_.begin() + std::min(kShown, cut_reasons_.size()));
  if (cut_reasons_.size() > kShown) {
    shown.push_back(absl::StrFormat("and %d more", cut_reasons_.size() - kShown));
  }
  return absl::StrJoin(shown, "; ");
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
  // Without a temporary file the fold still works, in memory up to the bound.
  if (absl::StatusOr<std::unique_ptr<LineSpill>> spill = LineSpill::Create(); spill.ok()) {
    fold->spill_ = *std::move(spill);
  } else {
    LogWarning("%s; the fold keeps every row in memory", spill.status().message());
  }
  WindowFolder folder(fold.get(), plan, manifest, options);
  WALSHIP_RETURN_IF_ERROR(folder.Run(store));
  if (fold->spill_ != nullptr) WALSHIP_RETURN_IF_ERROR(fold->spill_->Flush());
  return fold;
}

}  // namespace walship::replay
