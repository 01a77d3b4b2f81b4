// PublicationWatcher: notices tables that enter the publication holding rows no change
// event carries (ATTACH PARTITION of a filled table, SET LOGGED, ALTER PUBLICATION ... ADD
// TABLE). The publication's leaf tables are read after every transaction that carries
// captured DDL, and at least every `interval`; a new one that existed at the previous check
// and holds rows is reported, with where the entry came at the earliest (the first captured
// DDL since the previous check, or that check's position, with a commit time).
#ifndef WALSHIP_AGENT_STREAM_PUBLICATION_WATCHER_H_
#define WALSHIP_AGENT_STREAM_PUBLICATION_WATCHER_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "agent/pg/session.h"
#include "agent/pg/pgoutput_messages.h"
#include "proto/core/lsn.h"

namespace walship::agent {

class PublicationWatcher {
 public:
  using EnteredCallback =
      std::function<void(std::vector<std::string> tables, Lsn noticed_at, int64_t commit_time_us)>;

  // `on_entered` empty: nothing is ever checked. Each check opens a session of its own
  // with `connect`.
  PublicationWatcher(pg::SessionFactory connect, std::string publication,
                     absl::Duration interval, EnteredCallback on_entered);

  bool enabled() const { return static_cast<bool>(on_entered_); }

  // Every decoded message, in stream order (BEGIN, STREAM START and captured DDL matter).
  void Note(const PgOutputMessage& message);
  // A transaction committed at `commit_time_us` was handed to the sinks.
  void NoteHandedOff(int64_t commit_time_us) {
    last_handed_commit_time_us_ = std::max(last_handed_commit_time_us_, commit_time_us);
  }
  // Checks when due; call between transactions only. `last_handed` is the end of the last
  // transaction handed to the sinks; `side` returns the loop's long-lived side session
  // (nullptr when none can be opened). Failures are logged, never fatal.
  void Check(absl::Time now, Lsn last_handed, const std::function<pg::Session*()>& side);

 private:
  // Whether the last captured DDL's transaction is visible yet (or waited for long enough).
  bool DdlVisible(absl::Time now, pg::Session& conn);

  const pg::SessionFactory connect_;
  const std::string publication_;
  const absl::Duration interval_;
  const EnteredCallback on_entered_;
  // The leaf tables at the last check (none before the first), and whether captured DDL
  // passed since.
  std::optional<absl::flat_hash_set<uint32_t>> published_leaves_;
  bool check_due_ = true;
  absl::Time next_check_ = absl::InfinitePast();
  absl::Time last_check_ = absl::InfinitePast();
  int64_t last_handed_commit_time_us_ = 0;
  Lsn checked_at_lsn_;  // the last handed-off transaction's end at the last check
  int64_t checked_at_time_us_ = 0;
  Xid current_xid_;  // of the transaction being decoded
  int64_t current_commit_time_us_ = 0;
  Lsn first_ddl_lsn_;  // the first captured DDL message since the last check
  int64_t first_ddl_time_us_ = 0;
  absl::flat_hash_set<uint32_t> existing_tables_;  // every table at the last check
  std::optional<Xid> ddl_xid_;  // the last transaction with captured DDL, until visible
  absl::Time ddl_seen_at_ = absl::InfinitePast();
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_PUBLICATION_WATCHER_H_
