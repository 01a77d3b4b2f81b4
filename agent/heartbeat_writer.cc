// Heartbeat objects, written off the replication loop's thread.
#include "agent/heartbeat_writer.h"

#include <algorithm>
#include <utility>

#include "proto/core/log.h"
#include "sinks/object_store/heartbeat.h"
#include "sinks/object_store/layout.h"

namespace walship::agent {

bool WriteHeartbeat(const std::vector<std::unique_ptr<sinks::ObjectStore>>& stores,
                    const StreamIdentity& identity, absl::Time now, Lsn acknowledged,
                    Lsn server_wal, bool trim) {
  const sinks::StreamId& stream = identity.stream;
  sinks::Heartbeat heartbeat{now, acknowledged, server_wal};
  heartbeat.system_id = identity.incarnation.system_id();
  heartbeat.timeline = identity.incarnation.timeline();
  heartbeat.incarnation = identity.incarnation.number();
  std::string content = sinks::EncodeHeartbeat(heartbeat);
  bool all = true;
  for (const auto& store : stores) {
    absl::Status put = store->Put(sinks::HeartbeatKey(stream, now), content);
    if (!put.ok()) {
      all = false;
      if (put.code() != absl::StatusCode::kAlreadyExists) {
        LogWarning("heartbeat to %s: %s", store->url(), put.message());
      }
      continue;
    }
    if (!trim) continue;
    auto listed = store->List(sinks::HeartbeatPrefix(stream));
    if (!listed.ok()) continue;
    for (size_t i = 0; i + 3 < listed->size(); ++i) (void)store->Delete((*listed)[i].key);
  }
  return all;
}

HeartbeatWriter::~HeartbeatWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void HeartbeatWriter::RequestIdle(absl::Time now, Lsn acknowledged, Lsn server_wal) {
  absl::MutexLock lock(&mu_);
  idle_ = Request{now, acknowledged, server_wal};
}

void HeartbeatWriter::RequestVouch(absl::Time now, Lsn position, Lsn server_wal) {
  absl::MutexLock lock(&mu_);
  vouch_ = Request{now, position, server_wal};
}

Lsn HeartbeatWriter::Vouched() const {
  absl::MutexLock lock(&mu_);
  return vouched_;
}

void HeartbeatWriter::Run() {
  while (true) {
    std::optional<Request> idle;
    std::optional<Request> vouch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](HeartbeatWriter* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || self->idle_.has_value() || self->vouch_.has_value();
          },
          this));
      if (stopping_) return;
      idle = std::exchange(idle_, std::nullopt);
      vouch = std::exchange(vouch_, std::nullopt);
    }
    if (vouch.has_value() && WriteHeartbeat(*stores_, *identity_, vouch->now, vouch->position,
                                            vouch->server_wal, /*trim=*/false)) {
      absl::MutexLock lock(&mu_);
      vouched_ = std::max(vouched_, vouch->position);
    }
    if (idle.has_value()) {
      WriteHeartbeat(*stores_, *identity_, idle->now, idle->position, idle->server_wal,
                     /*trim=*/true);
    }
  }
}

}  // namespace walship::agent
