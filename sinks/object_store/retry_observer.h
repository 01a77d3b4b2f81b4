// A process-wide observer of retried object-store requests, so that the agent can count
// them (walship_retries_total) without the stores knowing about metrics.
//
//   SetRetryObserver([&metrics](absl::string_view store, absl::string_view kind) {
//     metrics.OnRetry(store, kind);
//   });
#ifndef WALSHIP_SINKS_OBJECT_STORE_RETRY_OBSERVER_H_
#define WALSHIP_SINKS_OBJECT_STORE_RETRY_OBSERVER_H_

#include <functional>

#include "absl/strings/string_view.h"

namespace walship::sinks {

// `store`: the store's URL without secrets; `kind`: "transport" (connection error or
// timeout), "throttled" (503, 429, SlowDown), "server_error" (other 5xx) or "other".
using RetryObserver = std::function<void(absl::string_view store, absl::string_view kind)>;

// Replaces the observer (empty: none). Thread-safe; the observer is called from whichever
// thread retries and must be thread-safe itself.
void SetRetryObserver(RetryObserver observer);

// Called by a store before it retries a request.
void NotifyRetry(absl::string_view store, absl::string_view kind);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_RETRY_OBSERVER_H_
