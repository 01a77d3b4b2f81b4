// The few S3 XML documents the store reads and writes: ListObjectsV2 results, error bodies,
// InitiateMultipartUploadResult and the CompleteMultipartUpload request. Responses are
// treated as hostile: a tiny scanner (no DTDs, no entities beyond the five predefined and
// numeric ones), bounded sizes, and a clean kDataLoss on anything malformed.
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_S3_XML_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_S3_XML_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::sinks::s3 {

// Bounds for one ListObjectsV2 page (S3 sends at most 1000 keys of at most 1024 bytes).
inline constexpr size_t kMaxListEntries = 10000;
inline constexpr size_t kMaxKeyBytes = 1024;

struct ListedObject {
  std::string key;  // the full key in the bucket
  uint64_t size = 0;
};

struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;  // non-empty when truncated
};

absl::StatusOr<ListPage> ParseListObjectsV2(absl::string_view xml);

// <Error><Code>..</Code><Message>..</Message></Error>; empty fields when absent.
struct S3ErrorBody {
  std::string code;
  std::string message;
};
S3ErrorBody ParseS3Error(absl::string_view xml);

absl::StatusOr<std::string> ParseUploadId(absl::string_view xml);

// The CompleteMultipartUpload body for parts numbered 1..N with these ETags.
std::string CompleteMultipartBody(const std::vector<std::string>& etags);

// The text of the first <tag>...</tag> in `xml` with entities decoded; nullopt when the
// element is missing or malformed. Exposed for tests.
std::optional<std::string> XmlElementText(absl::string_view xml, absl::string_view tag);
// Escapes &, <, >, " and ' for element text.
std::string XmlEscape(absl::string_view text);

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_S3_XML_H_
