// `verify`: compares every ordinary table of two databases row by row as text
// (row::text, byte-exact and order independent; contract 5), and describes the first
// difference per table.
#ifndef WALSHIP_REPLAY_COMMANDS_VERIFIER_H_
#define WALSHIP_REPLAY_COMMANDS_VERIFIER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/pg/pg_connection.h"

namespace walship::replay {

struct VerifyOptions {
  // Tables to compare ("schema.table", or "table" for public); empty: every ordinary table
  // outside pg_catalog and information_schema, on either side.
  std::vector<std::string> tables;
};

struct VerifyResult {
  size_t tables_compared = 0;
  // One line per differing table, e.g.
  // "table \"public.deals\": row (3,x) is in the source but not in the target".
  std::vector<std::string> differences;
  bool equal() const { return differences.empty(); }
};

// Read-only on both connections, which must outlive the call.
absl::StatusOr<VerifyResult> Verify(agent::pg::PgConnection* source, agent::pg::PgConnection* target,
                                    const VerifyOptions& options);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_VERIFIER_H_
