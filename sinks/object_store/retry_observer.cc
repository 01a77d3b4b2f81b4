#include "sinks/object_store/retry_observer.h"

#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace walship::sinks {
namespace {

struct Registry {
  absl::Mutex mu;
  std::shared_ptr<const RetryObserver> observer ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace

void SetRetryObserver(RetryObserver observer) {
  Registry& registry = GetRegistry();
  absl::MutexLock lock(&registry.mu);
  registry.observer =
      observer ? std::make_shared<const RetryObserver>(std::move(observer)) : nullptr;
}

void NotifyRetry(absl::string_view store, absl::string_view kind) {
  std::shared_ptr<const RetryObserver> observer;
  {
    Registry& registry = GetRegistry();
    absl::MutexLock lock(&registry.mu);
    observer = registry.observer;
  }
  if (observer) (*observer)(store, kind);
}

}  // namespace walship::sinks
