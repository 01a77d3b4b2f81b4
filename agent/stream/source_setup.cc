// Source preparation.
#include "agent/stream/source_setup.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"

namespace walship::agent {

absl::StatusOr<SourceState> PrepareSource(pg::ReplicationConnection& conn,
                                          const SourceOptions& options) {
  SourceState state;
  WALSHIP_RETURN_IF_ERROR(conn.CheckServer());
  WALSHIP_ASSIGN_OR_RETURN(state.identity, conn.IdentifySystem());
  WALSHIP_ASSIGN_OR_RETURN(state.server_version, conn.ShowSetting("server_version"));
  WALSHIP_ASSIGN_OR_RETURN(state.server_encoding, conn.ShowSetting("server_encoding"));

  WALSHIP_ASSIGN_OR_RETURN(bool has_publication, conn.PublicationExists(options.publication));
  if (!has_publication) {
    if (!options.create) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "publication \"%s\" does not exist in database \"%s\": run with --create to create "
          "it (FOR ALL TABLES, or --tables), or CREATE PUBLICATION yourself",
          options.publication, state.identity.database));
    }
    WALSHIP_RETURN_IF_ERROR(conn.CreatePublication(options.publication, options.tables));
    LogInfo("created publication \"%s\" %s", options.publication,
            options.tables.empty() ? "FOR ALL TABLES"
                                   : "FOR TABLE " + absl::StrJoin(options.tables, ", "));
  }
  if (options.create) {
    WALSHIP_ASSIGN_OR_RETURN(auto unkeyed, conn.TablesWithoutIdentity(options.publication));
    if (!unkeyed.empty()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "publication \"%s\" holds tables without a primary key under REPLICA IDENTITY "
          "DEFAULT, whose UPDATE and DELETE would fail on the source once published: %s; add "
          "a primary key or run ALTER TABLE ... REPLICA IDENTITY FULL (walship changes "
          "nothing itself)",
          options.publication, absl::StrJoin(unkeyed, ", ")));
    }
  }

  WALSHIP_ASSIGN_OR_RETURN(state.slot, conn.GetSlot(options.slot));
  if (!state.slot.exists) {
    if (!options.create) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "replication slot \"%s\" does not exist on %s: run with --create to create it",
          options.slot, conn.Describe()));
    }
    WALSHIP_ASSIGN_OR_RETURN(Lsn consistent, conn.CreateSlot(options.slot));
    LogInfo("created replication slot \"%s\" at %s", options.slot, consistent.ToString());
    WALSHIP_ASSIGN_OR_RETURN(state.slot, conn.GetSlot(options.slot));
    state.slot_created = true;
  }
  if (state.slot.plugin != "pgoutput") {
    return absl::FailedPreconditionError(absl::StrFormat(
        "replication slot \"%s\" uses plugin \"%s\"; walship needs a pgoutput slot",
        options.slot, state.slot.plugin));
  }
  if (state.slot.wal_status == "lost") {
    return absl::FailedPreconditionError(absl::StrFormat(
        "replication slot \"%s\" has lost required WAL (max_slot_wal_keep_size): the stream "
        "has a gap; drop the slot and start a new one with --create",
        options.slot));
  }
  return state;
}

}  // namespace walship::agent
