// Base snapshot discovery.
#include "replay/catalog/base_catalog.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"

namespace walship::replay {

uint64_t CatalogBase::row_count() const {
  uint64_t rows = 0;
  for (const v1::BaseTable& table : manifest.tables()) rows += table.row_count();
  return rows;
}

absl::Status ValidateManifest(const v1::BaseManifest& manifest, const std::string& dir,
                              const std::string& manifest_key) {
  // dir is "<stream>/base/<lsn16>/".
  absl::string_view name(dir);
  name.remove_suffix(1);
  name = name.substr(name.rfind('/') + 1);
  if (name != Lsn(manifest.snapshot_lsn()).ToKey()) {
    return absl::DataLossError(absl::StrFormat(
        "base manifest \"%s\" says snapshot LSN %s, which is not the LSN in its directory name",
        manifest_key, Lsn(manifest.snapshot_lsn()).ToString()));
  }
  std::string stream_prefix(absl::string_view(dir).substr(0, dir.find("/base/") + 1));
  for (const v1::BaseTable& table : manifest.tables()) {
    for (const std::string& key : table.object_keys()) {
      if (!absl::StartsWith(key, dir) && !absl::StartsWith(absl::StrCat(stream_prefix, key), dir)) {
        return absl::DataLossError(
            absl::StrFormat("base manifest \"%s\" lists object \"%s\" outside its directory",
                            manifest_key, key));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BaseCatalog> BaseCatalog::Load(sinks::ObjectStore* store,
                                              const sinks::StreamId& stream) {
  std::string prefix = absl::StrCat(stream.Prefix(), "base/");
  WALSHIP_ASSIGN_OR_RETURN(std::vector<sinks::ObjectInfo> objects, store->List(prefix));
  struct Dir {
    size_t count = 0;
    uint64_t bytes = 0;
    bool has_manifest = false;
  };
  std::map<std::string, Dir> dirs;
  for (const sinks::ObjectInfo& object : objects) {
    absl::string_view rest = absl::string_view(object.key).substr(prefix.size());
    size_t slash = rest.find('/');
    if (slash == absl::string_view::npos) continue;
    absl::string_view lsn = rest.substr(0, slash);
    if (lsn.size() != 16 || !Lsn::Parse(absl::StrCat(lsn.substr(0, 8), "/", lsn.substr(8))).ok()) {
      continue;  // a foreign object: never trusted
    }
    Dir& dir = dirs[absl::StrCat(prefix, lsn, "/")];
    ++dir.count;
    dir.bytes += object.size;
    if (rest.substr(slash + 1) == "manifest.pb") dir.has_manifest = true;
  }
  BaseCatalog catalog;
  for (const auto& [path, dir] : dirs) {
    if (!dir.has_manifest) {
      catalog.incomplete_.push_back(IncompleteBase{path, dir.count, dir.bytes});
      continue;
    }
    CatalogBase base;
    base.dir = path;
    base.manifest_key = absl::StrCat(path, "manifest.pb");
    base.object_bytes = dir.bytes;
    base.object_count = dir.count;
    WALSHIP_ASSIGN_OR_RETURN(std::string bytes, store->Get(base.manifest_key));
    if (!base.manifest.ParseFromString(bytes)) {
      return absl::DataLossError(absl::StrFormat(
          "base manifest \"%s\" is corrupt (not a BaseManifest); remove that base directory or "
          "restore from another base",
          base.manifest_key));
    }
    // Format 2 adds the slot incarnation, 3 the row digest of tables copied in chunks; 1 and
    // 2 are still read; a newer one is refused by name.
    if (base.manifest.format_version() > 3) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "base manifest \"%s\" has format version %d, newer than this walship reads (3): "
          "upgrade walship-replay",
          base.manifest_key, base.manifest.format_version()));
    }
    WALSHIP_RETURN_IF_ERROR(ValidateManifest(base.manifest, base.dir, base.manifest_key));
    catalog.bases_.push_back(std::move(base));
  }
  std::sort(catalog.bases_.begin(), catalog.bases_.end(),
            [](const CatalogBase& a, const CatalogBase& b) {
              return a.manifest.snapshot_lsn() < b.manifest.snapshot_lsn();
            });
  return catalog;
}

BaseCatalog BaseCatalog::FromBases(std::vector<CatalogBase> bases) {
  BaseCatalog catalog;
  catalog.bases_ = std::move(bases);
  std::sort(catalog.bases_.begin(), catalog.bases_.end(),
            [](const CatalogBase& a, const CatalogBase& b) {
              return a.manifest.snapshot_lsn() < b.manifest.snapshot_lsn();
            });
  return catalog;
}

std::string BaseObjectKey(const sinks::StreamId& stream, const std::string& stored_key) {
  return absl::StartsWith(stored_key, stream.Prefix()) ? stored_key
                                                       : absl::StrCat(stream.Prefix(), stored_key);
}

}  // namespace walship::replay
