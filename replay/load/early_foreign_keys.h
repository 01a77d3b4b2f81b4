// Foreign keys added to a table while it is still empty, just before its rows load.
//
// Adding a foreign key checks the rows already in the table: none, for an empty one. The
// rows then load over sessions with session_replication_role = replica (like a logical
// replication apply worker), where the constraint's triggers do not fire. So the rows are
// not checked again: they are the source's own rows at one commit, where the constraint
// held, and the catalog ends as the source's (a validated constraint). This saves the
// full scan and join that validating a loaded table costs.
//
// A key can only be added once the table it references has its unique key. Tables are
// tracked as they load: a table whose referenced table is loading or building its keys
// right now waits for it (that table waits on nothing else, so this cannot deadlock); one
// whose referenced table has not started, or failed, or has no key, gets nothing early, and
// its key is added and validated after the load as before; so does a key the server refuses
// to add early. Thread-safe.
#ifndef WALSHIP_REPLAY_LOAD_EARLY_FOREIGN_KEYS_H_
#define WALSHIP_REPLAY_LOAD_EARLY_FOREIGN_KEYS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace walship::replay {

class EarlyForeignKeys {
 public:
  // A foreign key of the post-data script: its statement, its place in the caller's
  // script, and the tables it constrains and references, named the same way as the tables
  // passed to the methods below (see DumpQualifiedName in base_restorer.cc).
  struct Candidate {
    std::string statement;
    size_t script_index = 0;
    std::string table;
    std::string referenced;
  };
  // Runs one candidate's statement on a connection of its own.
  using Run = std::function<absl::Status(const Candidate& candidate)>;

  EarlyForeignKeys(std::vector<Candidate> candidates, Run run)
      : candidates_(std::move(candidates)), run_(std::move(run)) {}

  // Counts `table` (about to load, still empty) as loading; first, when `add_keys`, adds
  // its foreign keys whose referenced table has its key, waiting for a referenced table
  // that is loading or building its keys.
  absl::Status BeforeLoad(const std::string& table, bool add_keys);
  // `table` is loaded and committed; `keyed`: its unique keys are built.
  void Loaded(const std::string& table, bool keyed);
  // The load stopped: nobody waits any more.
  void Stop();

  // Whether `statement` was added early (so it is neither added nor validated later).
  bool Added(const std::string& statement) const;

 private:
  enum class State { kLoading, kKeyed, kDone };
  // Whether `table` is not loading (or nobody waits any more).
  bool Settled(const std::string& table) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::vector<Candidate> candidates_;
  const Run run_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  absl::flat_hash_map<std::string, State> state_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> added_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_LOAD_EARLY_FOREIGN_KEYS_H_
