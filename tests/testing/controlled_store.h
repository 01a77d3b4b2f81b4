// ControlledStore: wraps an ObjectStore so that a test decides when writes land: writes of
// keys matching a pattern wait until released, and writes fail on demand.
#ifndef WALSHIP_TESTS_TESTING_CONTROLLED_STORE_H_
#define WALSHIP_TESTS_TESTING_CONTROLLED_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/object_store.h"

namespace walship::testing {

// Thread-safe; `inner` must outlive the wrapper.
// Wraps a store: holds Put/PutFile of keys containing a pattern until released, and fails
// writes on demand.
class ControlledStore : public sinks::ObjectStore {
 public:
  explicit ControlledStore(sinks::ObjectStore* inner) : inner_(inner) {}

  // Holds writes whose key contains `pattern` (none when empty); releases the others.
  void Hold(std::string pattern) {
    absl::MutexLock lock(&mu_);
    held_pattern_ = std::move(pattern);
  }
  void FailWrites(absl::Status status) {
    absl::MutexLock lock(&mu_);
    failure_ = std::move(status);
  }
  // Waits until `n` writes have arrived (held or not).
  bool AwaitAttempts(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return attempts_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }
  int attempts() const {
    absl::MutexLock lock(&mu_);
    return attempts_;
  }

  std::string url() const override { return inner_->url(); }
  absl::Status Put(absl::string_view key, absl::string_view data) override {
    WALSHIP_RETURN_IF_ERROR(Gate(key));
    return inner_->Put(key, data);
  }
  absl::Status PutFile(absl::string_view key, const std::string& path) override {
    WALSHIP_RETURN_IF_ERROR(Gate(key));
    return inner_->PutFile(key, path);
  }
  absl::StatusOr<std::string> Get(absl::string_view key) override { return inner_->Get(key); }
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(
      absl::string_view key) override {
    return inner_->Open(key);
  }
  absl::StatusOr<std::vector<sinks::ObjectInfo>> List(absl::string_view prefix) override {
    return inner_->List(prefix);
  }
  absl::Status Delete(absl::string_view key) override { return inner_->Delete(key); }

 private:
  absl::Status Gate(absl::string_view key) {
    absl::MutexLock lock(&mu_);
    ++attempts_;
    auto released = [this, key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return held_pattern_.empty() || !absl::StrContains(key, held_pattern_);
    };
    mu_.Await(absl::Condition(&released));
    return failure_;
  }

  sinks::ObjectStore* inner_;
  mutable absl::Mutex mu_;
  std::string held_pattern_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_CONTROLLED_STORE_H_
