// The one configuration of a walship-replay command line: main.cc parses and validates it,
// the commands (commands.h) read it.
#ifndef WALSHIP_REPLAY_COMMANDS_REPLAY_CONFIG_H_
#define WALSHIP_REPLAY_COMMANDS_REPLAY_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "replay/plan/recovery_target.h"

namespace walship::replay {

// Everything the command line says, as parsed; validated into the typed values below.
struct ReplayConfig {
  std::string command;                     // list | restore | verify
  std::vector<std::string> object_stores;  // URLs, tried in order
  std::string encryption_key_file;         // KEYID:BASE64 lines (or WALSHIP_ENCRYPTION_KEY)
  std::string system_id;                   // stream choice when the store holds several
  std::string slot;
  std::string target;                   // conninfo of the database to restore into
  std::string source;                   // verify: the database to compare against
  std::vector<std::string> tables;      // verify: tables to compare (default all)
  std::string to_lsn, to_time, to_xid;  // at most one recovery target
  uint32_t timeline = 0;                // 0: follow the newest timeline
  bool exclusive = false;               // --to-xid: stop just before the transaction
  bool force = false;                   // empty non-empty target tables
  uint64_t batch_events = 10000;        // events per target transaction (at least)
  std::string log_format = "text";
  // Restores from base snapshots.
  std::string to_mark;             // stop right after the transaction that wrote mark:NAME
  int jobs = 4;                    // parallel COPY connections
  std::string into_schema;         // with --tables: restore them into this new schema
  bool check_base = false;         // compare loaded base tables with the manifest checksums
  uint64_t fold_memory_mb = 1024;  // fold the change window into the base load (0: never)
  std::string toast_compression = "lz4";  // of out-of-line values ("server": the target's)
  int64_t sequence_margin = 1000;  // increments past the last sequence recording
  std::string work_dir;            // restore: where remote objects are fetched to
  bool create_roles = false;       // restore: create the roles the base's privileges name
  std::string scratch;             // drill: conninfo of an empty scratch database
};

// The recovery target options of `config`, for BuildTarget().
inline TargetOptions TargetOptionsOf(const ReplayConfig& config) {
  return TargetOptions{config.to_lsn, config.to_time, config.to_xid, config.to_mark,
                       config.exclusive};
}

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_REPLAY_CONFIG_H_
