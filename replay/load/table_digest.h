// What a base's manifest says a table held, and the same computed from a target table, so a
// restore (`check_base`) and `walship-replay verify` can compare them: the row digest of
// manifest format 3 (proto/row_digest.h: the target's rows read back by COPY TO STDOUT and
// digested here), or the sorted md5 checksum of older bases (TableChecksumSql, computed by
// the server).
#ifndef WALSHIP_REPLAY_LOAD_TABLE_DIGEST_H_
#define WALSHIP_REPLAY_LOAD_TABLE_DIGEST_H_

#include <string>

#include "absl/status/statusor.h"
#include "agent/pg/session.h"
#include "proto/walship.pb.h"

namespace walship::replay {

// The manifest's value for `table`: its row_digest when set, else its checksum.
std::string ExpectedTableDigest(const v1::BaseTable& table);

// The same kind of value for the rows `quoted_table` (schema-qualified, quoted) holds on
// `session` (a connection with the pinned session settings): the row digest over the
// columns of `table`'s relation, in order, when the manifest has one; else the sorted md5.
absl::StatusOr<std::string> TargetTableDigest(agent::pg::Session& session,
                                              const v1::BaseTable& table,
                                              const std::string& quoted_table);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_LOAD_TABLE_DIGEST_H_
