// The event-trigger SQL. JSON keys and their order follow walship.proto's DDL contract.
#include "agent/snapshot/ddl_capture.h"

#include "absl/strings/str_cat.h"
#include "proto/core/status_macros.h"

namespace walship::agent::snapshot {
namespace {

// walship.describe_table(oid, dropped, schema, table): one element of "tables".
constexpr char kDescribeFunction[] = R"sql(
CREATE OR REPLACE FUNCTION walship.describe_table(rel oid, is_dropped boolean,
                                                  schema_name text, table_name text)
RETURNS json LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
  SELECT json_build_object(
    'oid', rel::bigint,
    'schema', coalesce(n.nspname, schema_name),
    'table', coalesce(c.relname, table_name),
    'dropped', is_dropped,
    'columns', CASE WHEN is_dropped THEN '[]'::json ELSE coalesce((
        SELECT json_agg(json_build_object(
                 'attnum', a.attnum,
                 'name', a.attname,
                 'type', format_type(a.atttypid, a.atttypmod),
                 'not_null', a.attnotnull,
                 'default', pg_get_expr(d.adbin, d.adrelid),
                 'generated', a.attgenerated::text,
                 'identity', a.attidentity::text)
               ORDER BY a.attnum)
        FROM pg_attribute a
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped), '[]'::json) END,
    'primary_key', CASE WHEN is_dropped THEN '[]'::json ELSE coalesce((
        SELECT json_agg(a.attname ORDER BY k.ord)
        FROM pg_index i
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = rel AND i.indisprimary), '[]'::json) END,
    'replica_identity', coalesce(c.relreplident::text, 'd'))
  FROM (SELECT rel) AS r
  LEFT JOIN pg_class c ON c.oid = r.rel AND NOT is_dropped
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
$fn$;
)sql";

// Every command but DROP (which sql_drop reports) on objects outside walship's own schema
// and the temporary schemas: the statement text and search_path let replay run the same
// command at the same place ("format": 2); "tables" describes the plain and partitioned
// tables the command touched, for old readers and as the fallback.
constexpr char kCaptureFunction[] = R"sql(
CREATE OR REPLACE FUNCTION walship.emit_ddl(tg_tag text, caller_search_path text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
  described json;
  relevant boolean;
BEGIN
  IF tg_tag LIKE 'DROP %' THEN
    RETURN;
  END IF;
  SELECT bool_or(coalesce(cmd.schema_name, '') NOT IN ('pg_catalog', 'pg_toast',
                                                       'information_schema', 'walship')
                 AND coalesce(cmd.schema_name, '') NOT LIKE 'pg\_temp%'
                 AND coalesce(cmd.schema_name, '') NOT LIKE 'pg\_toast\_temp%'
                 AND NOT (coalesce(cmd.object_type, '') = 'schema'
                          AND coalesce(cmd.object_identity, '') = 'walship')
                 AND NOT coalesce(cmd.in_extension, false))
    INTO relevant
  FROM pg_event_trigger_ddl_commands() AS cmd;
  IF NOT coalesce(relevant, false) THEN
    RETURN;
  END IF;
  SELECT json_agg(walship.describe_table(t.objid, false, NULL, NULL) ORDER BY t.first)
    INTO described
  FROM (SELECT cmd.objid, min(cmd.ord) AS first
        FROM pg_event_trigger_ddl_commands() WITH ORDINALITY AS cmd(classid, objid, objsubid,
             command_tag, object_type, schema_name, object_identity, in_extension, command, ord)
        JOIN pg_class c ON c.oid = cmd.objid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE cmd.classid = 'pg_class'::regclass
          AND c.relkind IN ('r', 'p')
          AND c.relpersistence <> 't'
          AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema', 'walship')
        GROUP BY cmd.objid) AS t;
  PERFORM pg_logical_emit_message(true, 'walship.ddl',
    json_build_object('format', 2, 'tag', tg_tag, 'query', current_query(),
                      'search_path', caller_search_path,
                      'tables', coalesce(described, '[]'::json))::text);
END
$fn$;
)sql";

// DROP commands: the dropped tables, and the statement as for other commands.
constexpr char kDropFunction[] = R"sql(
CREATE OR REPLACE FUNCTION walship.emit_drop(tg_tag text, caller_search_path text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
  described json;
  relevant boolean;
BEGIN
  IF tg_tag NOT LIKE 'DROP %' THEN
    RETURN;
  END IF;
  SELECT bool_or(NOT d.is_temporary
                 AND coalesce(d.schema_name, '') NOT IN ('pg_catalog', 'pg_toast',
                                                         'information_schema', 'walship')
                 AND NOT (coalesce(d.object_type, '') = 'schema'
                          AND coalesce(d.object_name, '') = 'walship'))
    INTO relevant
  FROM pg_event_trigger_dropped_objects() AS d
  WHERE d.original;
  IF NOT coalesce(relevant, false) THEN
    RETURN;
  END IF;
  SELECT json_agg(walship.describe_table(d.objid, true, d.schema_name, d.object_name)
                  ORDER BY d.ord)
    INTO described
  FROM pg_event_trigger_dropped_objects() WITH ORDINALITY AS d(classid, objid, objsubid,
       original, normal, is_temporary, object_type, schema_name, object_name,
       object_identity, address_names, address_args, ord)
  WHERE d.object_type = 'table' AND NOT d.is_temporary
    AND d.schema_name NOT IN ('pg_catalog', 'pg_toast', 'information_schema', 'walship');
  PERFORM pg_logical_emit_message(true, 'walship.ddl',
    json_build_object('format', 2, 'tag', tg_tag, 'query', current_query(),
                      'search_path', caller_search_path,
                      'tables', coalesce(described, '[]'::json))::text);
END
$fn$;
)sql";

// The event trigger functions themselves run as the caller, without a search_path of their
// own, only to read the caller's search_path (which names the objects of an unqualified
// statement); every name in them is qualified.
constexpr char kTriggerFunctions[] = R"sql(
CREATE OR REPLACE FUNCTION walship.capture_ddl() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM walship.emit_ddl(tg_tag, pg_catalog.current_setting('search_path'));
END
$fn$;
CREATE OR REPLACE FUNCTION walship.capture_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM walship.emit_drop(tg_tag, pg_catalog.current_setting('search_path'));
END
$fn$;
)sql";

// ENABLE ALWAYS: a session under session_replication_role = replica (pg_restore
// --disable-triggers, replication tools, migration scripts) would otherwise skip them, and
// its schema changes would reach the stream undescribed.
constexpr char kTriggers[] = R"sql(
DROP EVENT TRIGGER IF EXISTS walship_ddl_capture;
DROP EVENT TRIGGER IF EXISTS walship_ddl_drop;
CREATE EVENT TRIGGER walship_ddl_capture ON ddl_command_end
  EXECUTE FUNCTION walship.capture_ddl();
CREATE EVENT TRIGGER walship_ddl_drop ON sql_drop
  EXECUTE FUNCTION walship.capture_drop();
ALTER EVENT TRIGGER walship_ddl_capture ENABLE ALWAYS;
ALTER EVENT TRIGGER walship_ddl_drop ENABLE ALWAYS;
)sql";

}  // namespace

absl::Status InstallDdlCapture(pg::PgConnection& conn) {
  std::string sql = absl::StrCat(
      "BEGIN;\nSET LOCAL client_min_messages = warning;\nCREATE SCHEMA IF NOT EXISTS walship;\n",
                                 kDescribeFunction, kCaptureFunction, kDropFunction, kTriggerFunctions,
                                 kTriggers,
                                 "COMMIT;");
  absl::Status status = conn.Exec(sql, "installing the DDL-capturing event triggers");
  if (!status.ok()) {
    (void)conn.Exec("ROLLBACK", "rolling back");
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<DdlCaptureState> ReadDdlCaptureState(pg::PgConnection& conn) {
  WALSHIP_ASSIGN_OR_RETURN(
      pg::QueryResult rows,
      conn.Query("SELECT count(*), count(*) FILTER (WHERE evtenabled <> 'D') FROM "
                 "pg_catalog.pg_event_trigger WHERE evtname IN ('walship_ddl_capture', "
                 "'walship_ddl_drop')",
                 {}, "reading the DDL capture triggers"));
  DdlCaptureState state;
  if (rows.rows.size() == 1) {
    state.installed = rows.rows[0][0].value_or("0") == "2";
    state.enabled = rows.rows[0][1].value_or("0") == "2";
  }
  return state;
}

absl::Status RemoveDdlCapture(pg::PgConnection& conn) {
  return conn.Exec(
      "DROP EVENT TRIGGER IF EXISTS walship_ddl_capture;"
      "DROP EVENT TRIGGER IF EXISTS walship_ddl_drop;"
      "DROP FUNCTION IF EXISTS walship.capture_ddl();"
      "DROP FUNCTION IF EXISTS walship.capture_drop();"
      "DROP FUNCTION IF EXISTS walship.emit_ddl(text, text);"
      "DROP FUNCTION IF EXISTS walship.emit_drop(text, text);"
      "DROP FUNCTION IF EXISTS walship.describe_table(oid, boolean, text, text);",
      "removing the DDL-capturing event triggers");
}

}  // namespace walship::agent::snapshot
