// Recording free-standing sequence values as transactional logical messages.
#include "agent/stream/sequence_recorder.h"

#include "absl/strings/str_cat.h"
#include "proto/core/status_macros.h"

namespace walship::agent {
namespace {

// Sequences owned by a column (serial: deptype 'a', identity: 'i') are left out: replay sets
// them past their column's largest value. Temporary sequences and walship's own are left
// out too; a sequence the agent's role may not read shows NULL and is left out.
constexpr char kValuesSql[] = R"sql(
SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
                                           'last_value', v.last_value::text,
                                           'increment', s.seqincrement::text)
                         ORDER BY n.nspname, c.relname), '[]')::text
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
CROSS JOIN LATERAL (
  SELECT CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
              THEN pg_catalog.pg_sequence_last_value(c.oid) END AS last_value) v
WHERE c.relkind = 'S' AND c.relpersistence <> 't' AND v.last_value IS NOT NULL
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'walship')
  AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.deptype IN ('a', 'i')))sql";

}  // namespace

absl::StatusOr<bool> SequenceRecorder::Record(pg::Session& conn) {
  // The insert position first: every commit record below it was written after its
  // transaction drew its values, so the values read next are at least those.
  WALSHIP_ASSIGN_OR_RETURN(
      std::optional<std::string> read_lsn,
      conn.QueryValue("SELECT pg_catalog.pg_current_wal_insert_lsn()::text", {},
                      "reading the WAL insert position for a sequence recording"));
  WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> values,
                           conn.QueryValue(kValuesSql, {}, "reading the free-standing sequences"));
  std::string current = values.value_or("[]");
  if (current == last_values_ || (last_values_.empty() && current == "[]")) return false;
  std::string content = absl::StrCat("{\"format\": 1, \"read_lsn\": \"", read_lsn.value_or(""),
                                     "\", \"sequences\": ", current, "}");
  WALSHIP_RETURN_IF_ERROR(
      conn.Query("SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)",
                 {kSequencesMessagePrefix, content}, "writing a sequence recording")
          .status());
  last_values_ = std::move(current);
  return true;
}

}  // namespace walship::agent
