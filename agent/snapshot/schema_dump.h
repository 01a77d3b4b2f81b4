// Runs pg_dump --schema-only inside an exported snapshot and returns one section's SQL.
#ifndef WALSHIP_AGENT_SNAPSHOT_SCHEMA_DUMP_H_
#define WALSHIP_AGENT_SNAPSHOT_SCHEMA_DUMP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::agent::snapshot {

// The pg_dump to run: /usr/lib/postgresql/15/bin/pg_dump when it exists, else "pg_dump"
// (looked up in PATH).
std::string DefaultPgDumpPath();

// The environment pg_dump runs with: only what it needs from `env` (PG* variables, PATH,
// HOME, USER, LANG, LC_*, TZ, TMPDIR), never the AWS or encryption secrets; PGPASSWORD is
// `password` when one came from the conninfo.
std::vector<std::string> ChildEnvironment(char** env, const std::string& password);

// `pg_dump --schema-only --no-owner --no-privileges --no-publications --no-subscriptions
// --exclude-schema=walship --snapshot=<snapshot> --section=<section> -d <conninfo>`; `section` is "pre-data" or
// "post-data". The result is plain SQL that libpq can run: psql's \restrict/\unrestrict
// lines (pg_dump 15.14 and later) are removed (StripPsqlMetaCommands). A password in
// `conninfo` is removed from the command line and passed in PGPASSWORD instead. pg_dump's
// own failures are kFailedPrecondition (missing binary) or kUnavailable with its stderr.
// Thread-safe (spawns a child; no shared state).
// Removes the lines "\restrict KEY" and "\unrestrict KEY" that recent pg_dump versions
// write around a plain-format dump for psql, and the CREATE/ALTER EVENT TRIGGER statements
// of walship's own DDL-capturing triggers (ddl_capture.h); nothing else changes.
std::string StripPsqlMetaCommands(absl::string_view sql);

absl::StatusOr<std::string> DumpSchemaSection(const std::string& pg_dump_path,
                                              absl::string_view conninfo,
                                              absl::string_view snapshot,
                                              absl::string_view section);

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_AGENT_SNAPSHOT_SCHEMA_DUMP_H_
