// EncryptedObjectStore: an ObjectStore decorator that encrypts every object at rest with
// AES-256-GCM (segments, indexes, base segments, manifests alike), over any backend.
// Envelope format: envelope_format.h. Keys: key_ring.h.
#ifndef WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTED_STORE_H_
#define WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTED_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sinks/object_store/encryption/key_ring.h"
#include "sinks/object_store/object_store.h"

namespace walship::sinks {

// Owns `inner`; shares the ring. Thread-safe when `inner` is (ObjectStore requires it).
// - Put/PutFile encrypt with the ring's first key and a fresh random nonce. PutFile
//   encrypts `path` into a temporary file beside it (one chunk of memory), hands that to
//   inner->PutFile and removes `path` on success; on failure `path` is left in place.
// - Get/Open authenticate before returning bytes; Open decrypts chunk by chunk on demand
//   and its size() is the plaintext size. Any key in the ring can read (rotation).
// - List reports the inner store's sizes, i.e. the stored (encrypted) sizes, which exceed
//   the plaintext by the header (26 bytes + key id) and 16 bytes per 64 KiB chunk: the
//   exact plaintext size needs the header (key id length), so it is only known after Open.
// - Delete passes through; url() is the inner store's.
// Errors: an object whose key id is not in the ring kFailedPrecondition; an object that is
// not encrypted, truncated, tampered, read with the wrong key bytes or copied under another
// key name kDataLoss; the inner store's errors keep their codes.
class EncryptedObjectStore : public ObjectStore {
 public:
  EncryptedObjectStore(std::unique_ptr<ObjectStore> inner, std::shared_ptr<const KeyRing> ring);

  std::string url() const override { return inner_->url(); }
  absl::Status Put(absl::string_view key, absl::string_view data) override;
  absl::Status PutFile(absl::string_view key, const std::string& path) override;
  absl::StatusOr<std::string> Get(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;

  ObjectStore* inner() const { return inner_.get(); }

 private:
  const std::unique_ptr<ObjectStore> inner_;
  const std::shared_ptr<const KeyRing> ring_;
};

// The key ring the operator configured: from `key_file` when it is non-empty, else from
// the WALSHIP_ENCRYPTION_KEY environment variable when that is set and non-empty, else
// nullptr (no encryption). Both set is kInvalidArgument (conflicting settings).
absl::StatusOr<std::shared_ptr<const KeyRing>> LoadConfiguredKeyRing(const std::string& key_file);

// Wraps `store` in an EncryptedObjectStore when LoadConfiguredKeyRing(key_file) finds keys;
// returns it unchanged otherwise. For the agent's and replay's main.
absl::StatusOr<std::unique_ptr<ObjectStore>> MaybeEncrypt(std::unique_ptr<ObjectStore> store,
                                                          const std::string& key_file);

// For readers (replay): MaybeEncrypt, except that without keys the store is wrapped in a
// guard whose Get/Open refuse an encrypted object with kFailedPrecondition naming the
// object and its key id (rather than handing ciphertext to a parser). Put/List/Delete
// pass through.
absl::StatusOr<std::unique_ptr<ObjectStore>> MaybeDecrypt(std::unique_ptr<ObjectStore> store,
                                                          const std::string& key_file);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTED_STORE_H_
