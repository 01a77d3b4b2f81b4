// kcat-based topic reading for tests.
#include "tests/testing/kcat.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {

absl::StatusOr<std::vector<ConsumedMessage>> KcatConsume(const std::string& bootstrap,
                                                         const std::string& topic,
                                                         absl::Duration timeout) {
  auto result = Subprocess::Run({"kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning",
                                 "-e", "-q", "-f", "%p %o %K %S %h\n%k%s"},
                                timeout);
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return absl::InternalError(
        absl::StrCat("kcat on ", topic, ": ", result->Describe(), ": ", result->stderr_text));
  }
  std::vector<ConsumedMessage> out;
  const std::string& text = result->stdout_text;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) return absl::InternalError("kcat: truncated header line");
    std::vector<std::string> fields =
        absl::StrSplit(text.substr(pos, eol - pos), absl::MaxSplits(' ', 4));
    pos = eol + 1;
    ConsumedMessage m;
    int64_t key_len = 0, value_len = 0;
    if (fields.size() < 4 || !absl::SimpleAtoi(fields[0], &m.partition) ||
        !absl::SimpleAtoi(fields[1], &m.offset) || !absl::SimpleAtoi(fields[2], &key_len) ||
        !absl::SimpleAtoi(fields[3], &value_len)) {
      return absl::InternalError(absl::StrCat("kcat: bad header line at ", pos));
    }
    if (fields.size() == 5) m.headers = fields[4];
    if (key_len >= 0) {
      m.key = text.substr(pos, key_len);
      pos += key_len;
    }
    if (value_len >= 0) {
      m.value = text.substr(pos, value_len);
      pos += value_len;
    }
    if (pos > text.size()) return absl::InternalError("kcat: truncated payload");
    out.push_back(std::move(m));
  }
  std::stable_sort(out.begin(), out.end(), [](const ConsumedMessage& a, const ConsumedMessage& b) {
    return std::make_pair(a.partition, a.offset) < std::make_pair(b.partition, b.offset);
  });
  return out;
}

absl::StatusOr<std::set<std::string>> KcatListTopics(const std::string& bootstrap) {
  auto result = Subprocess::Run({"kcat", "-b", bootstrap, "-L"}, absl::Seconds(60));
  if (!result.ok()) return result.status();
  if (!result->ok()) return absl::InternalError(absl::StrCat("kcat -L: ", result->stderr_text));
  std::set<std::string> topics;
  for (absl::string_view line : absl::StrSplit(result->stdout_text, '\n')) {
    size_t at = line.find("topic \"");
    if (at == absl::string_view::npos) continue;
    line.remove_prefix(at + 7);
    topics.insert(std::string(line.substr(0, line.find('"'))));
  }
  return topics;
}

}  // namespace walship::testing
