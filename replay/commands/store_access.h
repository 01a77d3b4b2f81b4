// Opening the object stores a command names (the first that answers a listing), and the
// warning for passwords on the command line.
#ifndef WALSHIP_REPLAY_COMMANDS_STORE_ACCESS_H_
#define WALSHIP_REPLAY_COMMANDS_STORE_ACCESS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "replay/catalog/object_cache.h"
#include "replay/commands/replay_config.h"
#include "sinks/object_store/object_store.h"

namespace walship::replay {

// Warns when `conninfo` (given as `option`) holds a password other users can see.
void WarnOnPassword(absl::string_view option, const std::string& conninfo);

// The first store of config.object_stores that answers a listing. With `cache_dir`, a remote
// store's objects are read through an ObjectCache there (below decryption), returned in
// `*cache`.
absl::StatusOr<std::unique_ptr<sinks::ObjectStore>> OpenStore(const ReplayConfig& config,
                                                              const std::string& cache_dir = "",
                                                              ObjectCache** cache = nullptr);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_COMMANDS_STORE_ACCESS_H_
