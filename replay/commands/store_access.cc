#include "replay/commands/store_access.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "agent/pg/pg_connection.h"
#include "proto/core/log.h"
#include "sinks/object_store/encryption/encrypted_store.h"
#include "sinks/object_store/open_object_store.h"

namespace walship::replay {

void WarnOnPassword(absl::string_view option, const std::string& conninfo) {
  if (!conninfo.empty() && agent::pg::ConninfoHasPassword(conninfo)) {
    LogWarning(
        "%s holds password=, which other users can see in the process list; use "
        "PGPASSWORD, ~/.pgpass or passfile= instead",
        option);
  }
}

absl::StatusOr<std::unique_ptr<sinks::ObjectStore>> OpenStore(const ReplayConfig& config,
                                                              const std::string& cache_dir,
                                                              ObjectCache** cache) {
  absl::Status last = absl::InvalidArgumentError("--object-store is required");
  for (const std::string& url : config.object_stores) {
    absl::StatusOr<std::unique_ptr<sinks::ObjectStore>> store = sinks::OpenObjectStore(url);
    ObjectCache* cached = nullptr;
    if (store.ok() && !cache_dir.empty() && !absl::StartsWith(url, "file:")) {
      auto wrapped = std::make_unique<ObjectCache>(std::move(*store), cache_dir);
      cached = wrapped.get();
      store = std::unique_ptr<sinks::ObjectStore>(std::move(wrapped));
    }
    if (store.ok()) store = sinks::MaybeDecrypt(std::move(*store), config.encryption_key_file);
    if (!store.ok()) {
      last = store.status();
      if (config.object_stores.size() > 1) LogWarning("%s", last.message());
      continue;
    }
    absl::StatusOr<std::vector<sinks::ObjectInfo>> probe = (*store)->List("");
    if (probe.ok()) {
      if (cache != nullptr) *cache = cached;
      return store;
    }
    last = probe.status();
    if (config.object_stores.size() > 1) LogWarning("%s", last.message());
  }
  return last;
}

}  // namespace walship::replay
