// The fold's thread.
#include "replay/load/fold_runner.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/core/log.h"

namespace walship::replay {

std::optional<absl::flat_hash_set<RelationOid>> ChangedRelations(const RestorePlan& plan) {
  absl::flat_hash_set<RelationOid> changed;
  for (const CatalogSegment& segment : plan.segments) {
    if (!segment.trailer.changed_relations_listed()) return std::nullopt;
    for (uint32_t oid : segment.trailer.changed_relations()) changed.insert(RelationOid(oid));
  }
  return changed;
}

FoldRunner::FoldRunner(sinks::ObjectStore* store, const RestorePlan& plan,
                       const v1::BaseManifest& manifest, FoldOptions options) {
  options.cancel = &cancel_;
  thread_ = std::thread([this, store, &plan, &manifest, options] {
    absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<ChangeFold>> built =
        ChangeFold::Build(store, plan, manifest, options);
    if (built.ok()) {
      fold_ = *std::move(built);
      LogInfo(
          "folded %d events of %d transactions into the base load (%d MiB in memory, %d MiB "
          "spilled, %.1fs)%s",
          fold_->stats().events, fold_->stats().transactions, fold_->memory_bytes() >> 20,
          fold_->spilled_bytes() >> 20, absl::ToDoubleSeconds(absl::Now() - start),
          fold_->complete()
              ? ""
              : absl::StrCat(
                    "; applying after the load (as sets where the target allows) the changes of ",
                    fold_->cut_reason()));
    } else {
      status_ = built.status();
    }
    done_.Notify();
  });
}

FoldRunner::~FoldRunner() {
  cancel_.store(true);
  thread_.join();
}

absl::StatusOr<ChangeFold*> FoldRunner::Wait() {
  done_.WaitForNotification();
  if (!status_.ok()) return status_;
  return fold_.get();
}

}  // namespace walship::replay
