// HeartbeatWriter: writes heartbeat objects (sinks/object_store/heartbeat.h) to every store
// on a thread of its own, so that a slow or stalled store never holds the replication loop
// (which must keep answering the server). The times come from the loop's clock.
#ifndef WALSHIP_AGENT_HEARTBEAT_WRITER_H_
#define WALSHIP_AGENT_HEARTBEAT_WRITER_H_

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/stream_identity.h"
#include "proto/core/lsn.h"
#include "sinks/object_store/object_store.h"

namespace walship::agent {

// Writes a heartbeat object to every store and keeps only the newest few there; true when
// every store has it. A heartbeat of the same second already there is replaced by none: the
// next one is written under the next second's key.
bool WriteHeartbeat(const std::vector<std::unique_ptr<sinks::ObjectStore>>& stores,
                    const StreamIdentity& identity, absl::Time now, Lsn acknowledged,
                    Lsn server_wal, bool trim);

// Requests are latest-wins: a newer one replaces one not yet begun. `stores` and `identity`
// must outlive the writer. Every method is thread-safe; the destructor joins the thread
// (a write in progress finishes first).
class HeartbeatWriter {
 public:
  HeartbeatWriter(const std::vector<std::unique_ptr<sinks::ObjectStore>>* stores,
                  const StreamIdentity* identity)
      : stores_(stores), identity_(identity), thread_([this] { Run(); }) {}
  ~HeartbeatWriter();

  // A heartbeat of the idle agent (older ones trimmed).
  void RequestIdle(absl::Time now, Lsn acknowledged, Lsn server_wal);
  // A heartbeat vouching that the stores hold everything up to `position`.
  void RequestVouch(absl::Time now, Lsn position, Lsn server_wal);
  // The newest position a vouching heartbeat reached every store with.
  Lsn Vouched() const;

 private:
  struct Request {
    absl::Time now;
    Lsn position;
    Lsn server_wal;
  };

  void Run();

  const std::vector<std::unique_ptr<sinks::ObjectStore>>* const stores_;
  const StreamIdentity* const identity_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Request> idle_ ABSL_GUARDED_BY(mu_);
  std::optional<Request> vouch_ ABSL_GUARDED_BY(mu_);
  Lsn vouched_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_HEARTBEAT_WRITER_H_
