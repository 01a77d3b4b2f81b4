// PgSnapshotSource: the SnapshotSource over libpq sessions to the source database and the
// pg_dump binary.
#ifndef WALSHIP_AGENT_SNAPSHOT_PG_SNAPSHOT_SOURCE_H_
#define WALSHIP_AGENT_SNAPSHOT_PG_SNAPSHOT_SOURCE_H_

#include <memory>
#include <string>

#include "agent/snapshot/snapshot_source.h"

namespace walship::agent::snapshot {

// `conninfo`: the source without replication=; `pg_dump_path` empty: DefaultPgDumpPath().
std::unique_ptr<SnapshotSource> NewPgSnapshotSource(std::string conninfo,
                                                    std::string pg_dump_path);

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_PG_SNAPSHOT_SOURCE_H_
