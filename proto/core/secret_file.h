// Files that hold secrets (AWS credentials, Kafka properties): a warning when others may
// read them.
#ifndef WALSHIP_PROTO_CORE_SECRET_FILE_H_
#define WALSHIP_PROTO_CORE_SECRET_FILE_H_

#include <optional>
#include <string>

namespace walship {

// The warning for `path` when group or others may read it ("... is readable by group or
// others (mode 0644): chmod 600 it"), nullopt when only its owner may (or it cannot be
// examined: reading it reports that). `what` names it ("AWS credentials file").
std::optional<std::string> LooseSecretFileWarning(const std::string& path, const char* what);

// Logs that warning, if any.
void WarnIfSecretFileIsLoose(const std::string& path, const char* what);

}  // namespace walship

#endif  // WALSHIP_PROTO_CORE_SECRET_FILE_H_
