// The base snapshots of one stream ("<stream>/base/<snapshot-lsn16>/manifest.pb"): a base
// directory without a manifest is incomplete (interrupted) and never used.
#ifndef WALSHIP_REPLAY_CATALOG_BASE_CATALOG_H_
#define WALSHIP_REPLAY_CATALOG_BASE_CATALOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

struct CatalogBase {
  std::string dir;           // "<stream>/base/<lsn16>/"
  std::string manifest_key;  // dir + "manifest.pb"
  v1::BaseManifest manifest;
  uint64_t object_bytes = 0;  // every object under dir, as listed
  size_t object_count = 0;

  Lsn snapshot_lsn() const { return Lsn(manifest.snapshot_lsn()); }
  uint64_t row_count() const;
};

// An interrupted base: objects without a manifest.
struct IncompleteBase {
  std::string dir;
  size_t object_count = 0;
  uint64_t object_bytes = 0;
};

// Immutable after Load; thread-compatible.
class BaseCatalog {
 public:
  // Lists "<stream>/base/" and reads every manifest. A manifest that does not parse, names
  // another snapshot LSN than its directory, or lists objects outside its directory is
  // kDataLoss naming its key.
  static absl::StatusOr<BaseCatalog> Load(sinks::ObjectStore* store,
                                          const sinks::StreamId& stream);
  // From manifests already read (tests).
  static BaseCatalog FromBases(std::vector<CatalogBase> bases);

  // Complete bases, oldest snapshot first.
  const std::vector<CatalogBase>& bases() const { return bases_; }
  const std::vector<IncompleteBase>& incomplete() const { return incomplete_; }

 private:
  std::vector<CatalogBase> bases_;
  std::vector<IncompleteBase> incomplete_;
};

// Checks a manifest read from `manifest_key` against its directory. Exposed for tests.
absl::Status ValidateManifest(const v1::BaseManifest& manifest, const std::string& dir,
                              const std::string& manifest_key);

// The store key of a manifest's base object key (keys may be stored relative to the stream).
std::string BaseObjectKey(const sinks::StreamId& stream, const std::string& stored_key);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_CATALOG_BASE_CATALOG_H_
