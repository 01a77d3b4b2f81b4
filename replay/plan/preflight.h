// Pre-flight: everything a restore can check before its first write to the target.
//
// Every object the restore will read (the chosen base's table objects, the window's change
// segments, and the segments after it that hold sequence recordings) is fetched into the
// restore's work directory when the store is remote, and checked (whole-object SHA-256 in the
// footer, the AES-GCM tag when encrypted, kind, and a change segment's trailer against its
// index object), so a damaged or missing object stops the restore before it writes anything.
// The target is checked too: the extensions the base's schema creates must be installable,
// and a target the restore creates the schema in must hold no schema of its own.
#ifndef WALSHIP_REPLAY_PLAN_PREFLIGHT_H_
#define WALSHIP_REPLAY_PLAN_PREFLIGHT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"
#include "replay/plan/base_planner.h"
#include "replay/catalog/object_cache.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct PreflightObject {
  std::string key;
  std::string what;                         // "base object of table \"public.leads\""
  const CatalogSegment* segment = nullptr;  // change segments: the index that planned it
};

// The objects a restore of `plan` reads for `tables` (keys from the store's root), and the
// base's large objects when `large_objects`.
std::vector<PreflightObject> ObjectsToRead(const BaseRestorePlan& plan,
                                           const sinks::StreamId& stream,
                                           const std::vector<const v1::BaseTable*>& tables,
                                           bool large_objects);

struct PreflightStats {
  size_t objects = 0;
  uint64_t bytes = 0;    // read and checked
  uint64_t fetched = 0;  // of which downloaded into the work directory
};

// Fetches (into `cache`, when given) and checks every object, `jobs` at a time. The error
// names the first bad object and says that nothing was written.
absl::StatusOr<PreflightStats> CheckObjects(sinks::ObjectStore* store, ObjectCache* cache,
                                            const std::vector<PreflightObject>& objects,
                                            int jobs);

// The extensions `CREATE EXTENSION` statements of a pg_dump script name.
std::vector<std::string> ExtensionsCreatedBy(const std::string& pre_data_sql);

// Refuses (kFailedPrecondition, naming them all) extensions the target server cannot install.
absl::Status CheckExtensionsAvailable(agent::pg::Session* conn,
                                      const std::vector<std::string>& extensions);

// The base's roles (see BaseManifest.roles) the target server lacks.
absl::StatusOr<std::vector<const v1::BaseRole*>> MissingRoles(agent::pg::Session* conn,
                                                              const v1::BaseManifest& manifest);

// With `create`, creates each missing role without a password (LOGIN and INHERIT as at the
// source) and logs it; without, refuses naming them all and the ways to provide them.
absl::Status ProvideRoles(agent::pg::Session* conn,
                          const std::vector<const v1::BaseRole*>& missing, bool create);

// Refuses a target that holds schemas, tables, views, sequences or types of its own (not an
// extension's), or large objects, naming up to five of them.
absl::Status CheckTargetIsEmpty(agent::pg::Session* conn);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_PLAN_PREFLIGHT_H_
