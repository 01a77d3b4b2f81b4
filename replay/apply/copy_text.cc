// COPY text escaping.
#include "replay/apply/copy_text.h"

namespace walship::replay {

void AppendCopyText(absl::string_view text, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char escaped;
    switch (text[i]) {
      case '\\':
        escaped = '\\';
        break;
      case '\b':
        escaped = 'b';
        break;
      case '\f':
        escaped = 'f';
        break;
      case '\n':
        escaped = 'n';
        break;
      case '\r':
        escaped = 'r';
        break;
      case '\t':
        escaped = 't';
        break;
      case '\v':
        escaped = 'v';
        break;
      default:
        continue;
    }
    out->append(text.data() + start, i - start);
    out->push_back('\\');
    out->push_back(escaped);
    start = i + 1;
  }
  out->append(text.data() + start, text.size() - start);
}

void AppendCopyValue(const v1::Value& value, std::string* out) {
  if (value.has_text()) {
    AppendCopyText(value.text(), out);
  } else if (!value.has_unchanged_toast()) {
    out->append("\\N");
  }
}

}  // namespace walship::replay
