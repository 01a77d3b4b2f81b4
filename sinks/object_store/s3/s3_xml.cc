// A bounded scanner for S3's XML responses (flat elements, no attributes needed).
#include "sinks/object_store/s3/s3_xml.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace walship::sinks::s3 {
namespace {

absl::Status Malformed(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("malformed S3 ListObjectsV2 response: ", why));
}

// Decodes the predefined and numeric entities; nullopt on an unknown or broken one.
std::optional<std::string> DecodeEntities(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == absl::string_view::npos || semi - i > 10) return std::nullopt;
    absl::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() >= 2 && entity[0] == '#') {
      uint32_t code = 0;
      bool ok = entity[1] == 'x'
                    ? absl::SimpleHexAtoi(entity.substr(2), &code)
                    : absl::SimpleAtoi(entity.substr(1), &code);
      // Keys we accept are ASCII; anything wider is refused rather than half-decoded.
      if (!ok || code == 0 || code > 0x7f) return std::nullopt;
      out.push_back(static_cast<char>(code));
    } else {
      return std::nullopt;
    }
    i = semi;
  }
  return out;
}

// Finds the next <tag>...</tag> at or after `*pos`; returns its raw inner text and moves
// `*pos` past the closing tag. Self-closing "<tag/>" yields "".
std::optional<absl::string_view> NextElement(absl::string_view xml, absl::string_view tag,
                                             size_t* pos) {
  std::string open = absl::StrCat("<", tag);
  std::string close = absl::StrCat("</", tag, ">");
  size_t at = *pos;
  while (true) {
    at = xml.find(open, at);
    if (at == absl::string_view::npos) return std::nullopt;
    size_t after = at + open.size();
    if (after >= xml.size()) return std::nullopt;
    char c = xml[after];
    if (c == '>' || c == ' ' || c == '/') break;
    at = after;  // a longer tag name that starts the same: keep looking
  }
  size_t gt = xml.find('>', at);
  if (gt == absl::string_view::npos) return std::nullopt;
  if (xml[gt - 1] == '/') {
    *pos = gt + 1;
    return absl::string_view();
  }
  size_t end = xml.find(close, gt + 1);
  if (end == absl::string_view::npos) return std::nullopt;
  *pos = end + close.size();
  return xml.substr(gt + 1, end - gt - 1);
}

}  // namespace

std::optional<std::string> XmlElementText(absl::string_view xml, absl::string_view tag) {
  size_t pos = 0;
  std::optional<absl::string_view> raw = NextElement(xml, tag, &pos);
  if (!raw.has_value()) return std::nullopt;
  return DecodeEntities(*raw);
}

std::string XmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<ListPage> ParseListObjectsV2(absl::string_view xml) {
  if (xml.find("<ListBucketResult") == absl::string_view::npos) {
    return Malformed("no <ListBucketResult> element");
  }
  ListPage page;
  size_t pos = 0;
  while (std::optional<absl::string_view> contents = NextElement(xml, "Contents", &pos)) {
    if (page.objects.size() >= kMaxListEntries) {
      return Malformed(absl::StrFormat("more than %d entries in one page", kMaxListEntries));
    }
    std::optional<std::string> key = XmlElementText(*contents, "Key");
    if (!key.has_value() || key->empty()) return Malformed("an entry has no valid <Key>");
    if (key->size() > kMaxKeyBytes) {
      return Malformed(absl::StrFormat("a key is longer than %d bytes", kMaxKeyBytes));
    }
    std::optional<std::string> size_text = XmlElementText(*contents, "Size");
    uint64_t size = 0;
    if (!size_text.has_value() ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(*size_text), &size)) {
      return Malformed(absl::StrFormat("entry \"%s\" has no valid <Size>",
                                       absl::CHexEscape(*key)));
    }
    page.objects.push_back(ListedObject{std::move(*key), size});
  }
  std::optional<std::string> truncated = XmlElementText(xml, "IsTruncated");
  if (truncated.has_value()) {
    std::string value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*truncated));
    if (value != "true" && value != "false") return Malformed("bad <IsTruncated>");
    page.truncated = value == "true";
  }
  if (page.truncated) {
    std::optional<std::string> token = XmlElementText(xml, "NextContinuationToken");
    if (!token.has_value() || token->empty() || token->size() > 4096) {
      return Malformed("truncated listing without a valid <NextContinuationToken>");
    }
    page.next_continuation_token = std::move(*token);
  }
  return page;
}

S3ErrorBody ParseS3Error(absl::string_view xml) {
  S3ErrorBody error;
  if (xml.size() > (1 << 20)) xml = xml.substr(0, 1 << 20);
  size_t pos = 0;
  std::optional<absl::string_view> body = NextElement(xml, "Error", &pos);
  if (!body.has_value()) return error;
  error.code = XmlElementText(*body, "Code").value_or("");
  error.message = XmlElementText(*body, "Message").value_or("");
  // Only printable ASCII goes into messages, and not too much of it.
  for (std::string* field : {&error.code, &error.message}) {
    if (field->size() > 200) field->resize(200);
    for (char& c : *field) {
      if (!absl::ascii_isprint(c)) c = '?';
    }
  }
  return error;
}

absl::StatusOr<std::string> ParseUploadId(absl::string_view xml) {
  std::optional<std::string> id = XmlElementText(xml, "UploadId");
  if (!id.has_value() || id->empty() || id->size() > 1024) {
    return absl::DataLossError(
        "malformed S3 CreateMultipartUpload response: no valid <UploadId>");
  }
  return *id;
}

std::string CompleteMultipartBody(const std::vector<std::string>& etags) {
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    absl::StrAppend(&body, "<Part><PartNumber>", i + 1, "</PartNumber><ETag>",
                    XmlEscape(etags[i]), "</ETag></Part>");
  }
  body += "</CompleteMultipartUpload>";
  return body;
}

}  // namespace walship::sinks::s3
