// Foreign keys added to empty tables before their rows load.
#include "replay/load/early_foreign_keys.h"

#include "proto/core/log.h"

namespace walship::replay {

bool EarlyForeignKeys::Settled(const std::string& table) const {
  if (stopped_) return true;
  auto it = state_.find(table);
  return it == state_.end() || it->second != State::kLoading;
}

absl::Status EarlyForeignKeys::BeforeLoad(const std::string& table, bool add_keys) {
  for (const Candidate& candidate : candidates_) {
    if (!add_keys || candidate.table != table || candidate.referenced == table) continue;
    {
      absl::MutexLock lock(&mu_);
      while (!Settled(candidate.referenced)) changed_.Wait(&mu_);
      if (stopped_) return absl::CancelledError("the load stopped");
      auto it = state_.find(candidate.referenced);
      if (it == state_.end() || it->second != State::kKeyed) continue;
    }
    // Refused (say, the key it needs is an index built later): added after the load instead.
    if (absl::Status added = run_(candidate); !added.ok()) {
      LogInfo("foreign key of \"%s\" left for after the load: %s", table, added.message());
      continue;
    }
    absl::MutexLock lock(&mu_);
    added_.insert(candidate.statement);
  }
  absl::MutexLock lock(&mu_);
  state_[table] = State::kLoading;
  return absl::OkStatus();
}

void EarlyForeignKeys::Loaded(const std::string& table, bool keyed) {
  absl::MutexLock lock(&mu_);
  state_[table] = keyed ? State::kKeyed : State::kDone;
  changed_.SignalAll();
}

void EarlyForeignKeys::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  changed_.SignalAll();
}

bool EarlyForeignKeys::Added(const std::string& statement) const {
  absl::MutexLock lock(&mu_);
  return added_.contains(statement);
}

}  // namespace walship::replay
