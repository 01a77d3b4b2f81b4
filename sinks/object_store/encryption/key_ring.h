// KeyRing: the AES-256 keys objects are encrypted with, loaded from a key file
// (--encryption-key-file) or from the WALSHIP_ENCRYPTION_KEY environment variable.
//
// Syntax, one key per line (the variable may also separate keys with ';'):
//   # comment
//   KEYID:BASE64(32 bytes)
// Key ids are [A-Za-z0-9_-]{1,64}. The first key writes; every key reads, so a key is
// rotated by putting the new key first and keeping the old ones below it.
#ifndef WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_KEY_RING_H_
#define WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_KEY_RING_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::sinks {

// The environment variable a key ring may come from.
inline constexpr char kEncryptionKeyEnvVar[] = "WALSHIP_ENCRYPTION_KEY";

struct EncryptionKey {
  static constexpr size_t kBytes = 32;  // AES-256
  std::string id;
  std::array<uint8_t, kBytes> bytes{};
};

// Immutable after construction, so thread-safe. Key bytes never appear in error messages
// and are wiped (OPENSSL_cleanse) when the ring is destroyed; the ring is neither copyable
// nor movable so no stray copy of the bytes is left behind.
class KeyRing {
 public:
  // Loads `path`. A file readable or writable by group or others (mode & 077) is
  // kFailedPrecondition telling the operator to chmod 600 it; a missing file kNotFound;
  // malformed lines, wrong-length keys, duplicate ids or no key at all kInvalidArgument
  // naming the file and line (never the key bytes).
  static absl::StatusOr<std::shared_ptr<const KeyRing>> FromFile(const std::string& path);
  // Parses `text` (the syntax above, lines separated by '\n' or ';'). `origin` names the
  // text in errors ("environment variable WALSHIP_ENCRYPTION_KEY").
  static absl::StatusOr<std::shared_ptr<const KeyRing>> FromText(absl::string_view text,
                                                                 absl::string_view origin);

  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // The key new objects are encrypted with (the first one). Valid while the ring lives.
  const EncryptionKey& write_key() const { return keys_.front(); }
  // The key named `id`, or nullptr. Valid while the ring lives.
  const EncryptionKey* Find(absl::string_view id) const;
  // Ids in ring order (for logs: ids are not secret).
  std::vector<std::string> ids() const;

  // True when `id` matches [A-Za-z0-9_-]{1,64}.
  static bool IsValidKeyId(absl::string_view id);

 private:
  explicit KeyRing(std::vector<EncryptionKey> keys) : keys_(std::move(keys)) {}

  std::vector<EncryptionKey> keys_;  // never empty
};

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_KEY_RING_H_
