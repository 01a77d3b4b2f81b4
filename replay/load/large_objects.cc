// Restoring the base's large objects.
#include "replay/load/large_objects.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "proto/segment_reader.h"

namespace walship::replay {

absl::StatusOr<uint64_t> RestoreLargeObjects(sinks::ObjectStore* store,
                                             const sinks::StreamId& stream,
                                             const v1::BaseManifest& manifest,
                                             agent::pg::Session* conn) {
  if (manifest.large_object_keys().empty()) return 0;
  const char* kWhat = "restoring large objects";
  WALSHIP_RETURN_IF_ERROR(conn->Exec("BEGIN", kWhat));
  uint64_t count = 0;
  // Pieces arrive in offset order; `expected` is where the next piece of `current` starts.
  uint32_t current = 0;
  uint64_t expected = 0;
  bool open = false;
  for (const std::string& stored_key : manifest.large_object_keys()) {
    std::string key = BaseObjectKey(stream, stored_key);
    WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::RandomAccessSource> source, store->Open(key));
    WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::SegmentReader> reader,
                             proto::SegmentReader::Open(source.get()));
    if (reader->header().kind() != v1::BASE_SEGMENT) {
      return absl::DataLossError(absl::StrFormat("object \"%s\" is not a base segment", key));
    }
    v1::Record record;
    while (true) {
      WALSHIP_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
      if (!more) break;
      if (!record.has_large_object()) {
        return absl::DataLossError(
            absl::StrFormat("base object \"%s\" holds a record that is no large object", key));
      }
      const v1::LargeObjectChunk& chunk = record.large_object();
      std::string oid = absl::StrCat(chunk.oid());
      if (chunk.offset() == 0) {
        absl::Status created =
            conn->Query("SELECT pg_catalog.lo_create($1::oid)", {oid},
                        absl::StrFormat("creating large object %s", oid))
                .status();
        if (!created.ok()) {
          if (absl::StrContains(created.message(), "already exists") ||
              absl::StrContains(created.message(), "duplicate key")) {
            return absl::AlreadyExistsError(absl::StrFormat(
                "large object %s of the base already exists in the target; restore into an "
                "empty database",
                oid));
          }
          return created;
        }
        current = chunk.oid();
        expected = 0;
        open = true;
        ++count;
      }
      if (!open || chunk.oid() != current || chunk.offset() != expected) {
        return absl::DataLossError(absl::StrFormat(
            "base object \"%s\": a piece of large object %s at offset %d is out of order", key,
            oid, chunk.offset()));
      }
      if (!chunk.data().empty()) {
        WALSHIP_RETURN_IF_ERROR(
            conn->Query("SELECT pg_catalog.lo_put($1::oid, $2::bigint, "
                        "pg_catalog.decode($3, 'hex'))",
                        {oid, absl::StrCat(chunk.offset()), absl::BytesToHexString(chunk.data())},
                        absl::StrFormat("writing large object %s", oid))
                .status());
      }
      expected += chunk.data().size();
    }
  }
  WALSHIP_RETURN_IF_ERROR(conn->Exec("COMMIT", kWhat));
  if (count != manifest.large_object_count()) {
    return absl::DataLossError(absl::StrFormat(
        "the base's manifest lists %d large objects but its objects hold %d",
        manifest.large_object_count(), count));
  }
  return count;
}

}  // namespace walship::replay
