// A small CRM database that uses every value type walship must reproduce exactly
// (ARCHITECTURE.md contract 3), and a workload over it, step by step.
#ifndef WALSHIP_TESTS_INTEGRATION_CRM_WORKLOAD_H_
#define WALSHIP_TESTS_INTEGRATION_CRM_WORKLOAD_H_

#include <string>
#include <vector>

namespace walship::testing {

// Tables (all empty): customers (bigserial key, numeric, real/double, char(n), date,
// timestamptz, text[], jsonb, TOASTed text, bytea, uuid, inet, bit/varbit), deals (enum,
// numeric without typmod, timetz, interval, json, int[]), deal_contacts (composite key),
// activity_log (no key, REPLICA IDENTITY FULL).
const char* CrmSchemaSql();

struct WorkloadStep {
  std::string name;
  std::string sql;  // one or more statements; explicit BEGIN/COMMIT where needed
};

// Inserts, updates (including an UPDATE of a key and one that leaves a TOASTed value
// untouched), deletes (including one of two identical rows in the key-less table),
// a TRUNCATE, a transaction larger than logical_decoding_work_mem with a rolled-back
// savepoint inside it, and a column added mid-stream.
std::vector<WorkloadStep> CrmWorkload();

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_INTEGRATION_CRM_WORKLOAD_H_
