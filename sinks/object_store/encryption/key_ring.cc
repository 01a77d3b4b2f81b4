// Parsing and holding encryption keys. Every buffer that held key material (the file's
// text, decoded bytes) is wiped before it is freed.
#include "sinks/object_store/encryption/key_ring.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace walship::sinks {
namespace {

constexpr size_t kMaxKeyIdLength = 64;

void Wipe(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

// Reads the whole file behind `fd` into `*out`, sized up front from `size` so the buffer
// holding key material is not reallocated (and left unwiped) while reading.
absl::Status ReadAllFd(int fd, size_t size, const std::string& path, std::string* out) {
  out->reserve(size + 1);
  char buffer[4096];
  while (true) {
    ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      OPENSSL_cleanse(buffer, sizeof(buffer));
      return absl::ErrnoToStatus(err, absl::StrFormat("reading encryption key file \"%s\"", path));
    }
    if (got == 0) break;
    out->append(buffer, static_cast<size_t>(got));
  }
  OPENSSL_cleanse(buffer, sizeof(buffer));
  return absl::OkStatus();
}

}  // namespace

bool KeyRing::IsValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

absl::StatusOr<std::shared_ptr<const KeyRing>> KeyRing::FromText(absl::string_view text,
                                                                 absl::string_view origin) {
  size_t max_keys = 1 + static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
                      return c == '\n' || c == ';';
                    }));
  std::vector<EncryptionKey> keys;
  keys.reserve(max_keys);  // no reallocation: no unwiped copies of key bytes
  absl::Cleanup wipe_keys = [&keys] {
    for (EncryptionKey& key : keys) OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
  };
  std::string decoded;
  absl::Cleanup wipe_decoded = [&decoded] { Wipe(&decoded); };

  int line_number = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = start;
    while (end < text.size() && text[end] != '\n' && text[end] != ';') ++end;
    absl::string_view line = absl::StripAsciiWhitespace(text.substr(start, end - start));
    start = end + 1;
    ++line_number;
    if (line.empty() || line.front() == '#') continue;

    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s, line %d: expected \"KEYID:BASE64KEY\" (no ':' found)", origin, line_number));
    }
    absl::string_view id = absl::StripAsciiWhitespace(line.substr(0, colon));
    absl::string_view encoded = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (!IsValidKeyId(id)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s, line %d: invalid key id (want 1 to 64 of [A-Za-z0-9_-])", origin, line_number));
    }
    if (std::any_of(keys.begin(), keys.end(),
                    [id](const EncryptionKey& key) { return key.id == id; })) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s, line %d: duplicate key id \"%s\"", origin, line_number, id));
    }
    Wipe(&decoded);
    if (encoded.empty() || !absl::Base64Unescape(encoded, &decoded)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s, line %d: key \"%s\" is not valid base64", origin, line_number, id));
    }
    if (decoded.size() != EncryptionKey::kBytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s, line %d: key \"%s\" is %d bytes after base64 decoding; AES-256 needs %d "
          "(generate one with: head -c 32 /dev/urandom | base64)",
          origin, line_number, id, decoded.size(), EncryptionKey::kBytes));
    }
    EncryptionKey& key = keys.emplace_back();
    key.id = std::string(id);
    std::copy(decoded.begin(), decoded.end(), key.bytes.begin());
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s holds no key (want lines \"KEYID:BASE64KEY\")", origin));
  }
  std::move(wipe_keys).Cancel();  // the ring owns them now and wipes them itself
  return std::shared_ptr<const KeyRing>(new KeyRing(std::move(keys)));
}

absl::StatusOr<std::shared_ptr<const KeyRing>> KeyRing::FromFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("opening encryption key file \"%s\"", path));
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("checking encryption key file \"%s\"", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("encryption key file \"%s\" is not a regular file", path));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("encryption key file \"%s\" is accessible by group or others (mode %04o); "
                        "run \"chmod 600 %s\"",
                        path, st.st_mode & 07777, path));
  }
  std::string text;
  absl::Cleanup wipe_text = [&text] { Wipe(&text); };
  absl::Status read = ReadAllFd(fd, static_cast<size_t>(st.st_size), path, &text);
  if (!read.ok()) return read;
  return FromText(text, absl::StrFormat("encryption key file \"%s\"", path));
}

KeyRing::~KeyRing() {
  for (EncryptionKey& key : keys_) OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
}

const EncryptionKey* KeyRing::Find(absl::string_view id) const {
  for (const EncryptionKey& key : keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

std::vector<std::string> KeyRing::ids() const {
  std::vector<std::string> ids;
  for (const EncryptionKey& key : keys_) ids.push_back(key.id);
  return ids;
}

}  // namespace walship::sinks
