// The DDL-capturing event triggers: every CREATE TABLE / ALTER TABLE (including RENAME) /
// DROP TABLE at the source writes a transactional logical message with prefix
// "walship.ddl" whose content is the JSON documented in proto/walship.proto, so that the
// command sits at its exact place in the change stream.
#ifndef WALSHIP_AGENT_SNAPSHOT_DDL_CAPTURE_H_
#define WALSHIP_AGENT_SNAPSHOT_DDL_CAPTURE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/pg/pg_connection.h"

namespace walship::agent::snapshot {

// The logical message prefix the triggers use.
inline constexpr char kDdlMessagePrefix[] = "walship.ddl";

// Creates (idempotently: CREATE SCHEMA IF NOT EXISTS, CREATE OR REPLACE FUNCTION, event
// triggers dropped and recreated in one transaction) schema "walship", the functions
// walship.capture_ddl() and walship.capture_drop() and the event triggers
// walship_ddl_capture (ddl_command_end) and walship_ddl_drop (sql_drop). Commands on
// objects in schemas pg_catalog, pg_toast, information_schema and walship, and on temporary
// tables, are skipped. Needs a superuser connection (event triggers); kPermissionDenied
// otherwise. The functions run SECURITY DEFINER, so ordinary roles' DDL is captured too.
// They run with search_path = pg_catalog, so `type` and `default` name every non-catalog
// object schema-qualified, as pg_dump does: "nextval('public.deals_id_seq'::regclass)",
// "public.deal_stage".
absl::Status InstallDdlCapture(pg::PgConnection& conn);

struct DdlCaptureState {
  bool installed = false;  // both event triggers exist
  bool enabled = false;    // and fire (not DISABLEd)
};
// Reads whether the capture triggers exist in the connected database and fire.
absl::StatusOr<DdlCaptureState> ReadDdlCaptureState(pg::PgConnection& conn);

// Drops the triggers and functions (schema "walship" is kept). Idempotent.
absl::Status RemoveDdlCapture(pg::PgConnection& conn);

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_DDL_CAPTURE_H_
