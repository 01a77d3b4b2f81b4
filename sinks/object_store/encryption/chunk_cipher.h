// ChunkCipher: AES-256-GCM over the chunks of one encrypted object (see
// envelope_format.h for nonces and associated data).
#ifndef WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_CHUNK_CIPHER_H_
#define WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_CHUNK_CIPHER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sinks/object_store/encryption/envelope_format.h"
#include "sinks/object_store/encryption/key_ring.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace walship::sinks {

// One object's cipher. `key` must outlive it (the key ring owns it). Not thread-safe.
class ChunkCipher {
 public:
  // `object_key` and `header_bytes` (the encoded header) form the associated data.
  ChunkCipher(const EncryptionKey* key, const envelope::Nonce& base_nonce,
              absl::string_view object_key, absl::string_view header_bytes);
  ~ChunkCipher();
  ChunkCipher(const ChunkCipher&) = delete;
  ChunkCipher& operator=(const ChunkCipher&) = delete;

  // Appends ciphertext and tag of `plaintext` (chunk `index`) to `*out`. kInternal when
  // OpenSSL fails.
  absl::Status Seal(uint64_t index, bool final, absl::string_view plaintext, std::string* out);
  // Verifies and decrypts `sealed` (ciphertext + tag) into `*plaintext` (replaced). Returns
  // false, leaving `*plaintext` empty, when the tag does not verify; kInternal when OpenSSL
  // itself fails.
  absl::StatusOr<bool> Open(uint64_t index, bool final, absl::string_view sealed,
                            std::string* plaintext);

 private:
  const EncryptionKey* key_;
  envelope::Nonce base_nonce_;
  std::string aad_;
  struct CtxDeleter {
    void operator()(EVP_CIPHER_CTX* ctx) const;
  };
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx_;
};

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_CHUNK_CIPHER_H_
