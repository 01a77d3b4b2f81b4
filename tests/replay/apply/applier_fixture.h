// The fixture of the Applier's tests against a real PostgreSQL: a stream's records applied
// as one segment, with the Applier's statistics kept.
#ifndef WALSHIP_TESTS_REPLAY_APPLY_APPLIER_FIXTURE_H_
#define WALSHIP_TESTS_REPLAY_APPLY_APPLIER_FIXTURE_H_

#include <vector>

#include "absl/status/status.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"
#include "replay/apply/applier.h"
#include "tests/replay/replay_pg_fixture.h"

namespace walship::replay {

class ApplierTest : public testing::ReplayPgTest {
 protected:
  // Applies the builder's records as one segment through the Applier.
  absl::Status ApplyAll(agent::pg::PgConnection* conn, const std::vector<v1::Record>& records,
                        ApplierOptions options = {}) {
    Applier applier(conn, options);
    applier.BeginSegment();
    for (const v1::Record& record : records) {
      absl::Status status = record.has_relation_def()
                                ? applier.DefineRelation(record.relation_def())
                                : applier.Apply(record.event());
      if (!status.ok()) return status;
    }
    last_stats_ = applier.stats();
    return applier.Finish();
  }
  ApplierStats last_stats_;
};

}  // namespace walship::replay

#endif  // WALSHIP_TESTS_REPLAY_APPLY_APPLIER_FIXTURE_H_
