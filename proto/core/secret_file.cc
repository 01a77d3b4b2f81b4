// Permission checks on secret files.
#include "proto/core/secret_file.h"

#include <sys/stat.h>

#include "absl/strings/str_format.h"
#include "proto/core/log.h"

namespace walship {

std::optional<std::string> LooseSecretFileWarning(const std::string& path, const char* what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if ((st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) == 0) return std::nullopt;
  return absl::StrFormat(
      "%s \"%s\" is readable or writable by group or others (mode %04o): other local users "
      "can read its secrets; chmod 600 it",
      what, path, st.st_mode & 07777);
}

void WarnIfSecretFileIsLoose(const std::string& path, const char* what) {
  if (std::optional<std::string> warning = LooseSecretFileWarning(path, what)) {
    LogWarning("%s", *warning);
  }
}

}  // namespace walship
