// Large objects (attachments) from a base: PostgreSQL's logical decoding does not send
// them, so a restore brings them back as the base's snapshot saw them.
#ifndef WALSHIP_REPLAY_LOAD_LARGE_OBJECTS_H_
#define WALSHIP_REPLAY_LOAD_LARGE_OBJECTS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "replay/catalog/base_catalog.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// Creates every large object of the manifest in the target (a kNormal connection), with its
// oid and content, in one transaction. Returns how many. A large object the target already
// has is kAlreadyExists naming it.
absl::StatusOr<uint64_t> RestoreLargeObjects(sinks::ObjectStore* store,
                                             const sinks::StreamId& stream,
                                             const v1::BaseManifest& manifest,
                                             agent::pg::Session* conn);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_LOAD_LARGE_OBJECTS_H_
