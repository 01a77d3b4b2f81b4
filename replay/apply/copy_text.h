// COPY text format (the format base segments store and restores send): one row a line,
// fields separated by a tab, NULL as \N, and the escapes PostgreSQL's COPY TO writes. Being
// exactly COPY TO's escaping makes a value escaped here byte-equal to the same value in a
// base segment, so keys can be compared without unescaping the base.
#ifndef WALSHIP_REPLAY_APPLY_COPY_TEXT_H_
#define WALSHIP_REPLAY_APPLY_COPY_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "proto/walship.pb.h"

namespace walship::replay {

// Appends `text` as one COPY field: backslash, \b \f \n \r \t \v escaped with a backslash,
// every other byte as it is (as PostgreSQL's CopyAttributeOutText with a tab delimiter).
void AppendCopyText(absl::string_view text, std::string* out);

// Appends a value as one COPY field: NULL as \N, text escaped. An unchanged-TOAST value has
// no text of its own; the caller must not pass one (it appends nothing).
void AppendCopyValue(const v1::Value& value, std::string* out);

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_COPY_TEXT_H_
