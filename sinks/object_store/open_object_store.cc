// OpenObjectStore(): picks the ObjectStore implementation from a URL's scheme.
#include "sinks/object_store/open_object_store.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "sinks/object_store/local_dir_store.h"
#include "sinks/object_store/s3/s3_store.h"

namespace walship::sinks {

absl::StatusOr<std::unique_ptr<ObjectStore>> OpenObjectStore(absl::string_view url,
                                                              const OpenObjectStoreOptions& options) {
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "file://")) {
    if (rest.empty() || rest.front() != '/') {
      return absl::InvalidArgumentError(absl::StrFormat(
          "object store URL \"%s\" must name an absolute directory, as in "
          "\"file:///var/lib/walship\" (three slashes)",
          url));
    }
    if (rest.find_first_of("?#") != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "object store URL \"%s\": file:// URLs take no query or fragment", url));
    }
    auto store = LocalDirStore::OpenDir(std::string(rest));
    if (!store.ok()) return store.status();
    return std::unique_ptr<ObjectStore>(std::move(store).value());
  }
  if (absl::StartsWith(url, "s3://")) {
    s3::S3Options s3_options;
    s3_options.retry_probe = options.retry_probe;
    s3_options.clock = options.clock;
    return s3::OpenS3Store(url, s3_options);
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "object store URL \"%s\" has an unsupported scheme; supported: file:///DIR, "
      "s3://BUCKET/PREFIX",
      url));
}

}  // namespace walship::sinks
