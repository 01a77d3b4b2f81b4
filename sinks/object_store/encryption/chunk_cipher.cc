// AES-256-GCM through OpenSSL's EVP interface, one init per chunk (new nonce each time).
#include "sinks/object_store/encryption/chunk_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>

#include "absl/strings/str_cat.h"

namespace walship::sinks {
namespace {

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat("OpenSSL AES-256-GCM failed while ", what));
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

void ChunkCipher::CtxDeleter::operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }

ChunkCipher::ChunkCipher(const EncryptionKey* key, const envelope::Nonce& base_nonce,
                         absl::string_view object_key, absl::string_view header_bytes)
    : key_(key),
      base_nonce_(base_nonce),
      aad_(absl::StrCat(object_key, header_bytes)),
      ctx_(EVP_CIPHER_CTX_new()) {}

ChunkCipher::~ChunkCipher() = default;  // EVP_CIPHER_CTX_free wipes the key schedule

absl::Status ChunkCipher::Seal(uint64_t index, bool final, absl::string_view plaintext,
                               std::string* out) {
  if (ctx_ == nullptr) return OpenSslError("allocating a context");
  if (plaintext.size() > INT_MAX) return OpenSslError("sealing an oversized chunk");
  envelope::Nonce nonce = envelope::ChunkNonce(base_nonce_, index, final);
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) !=
          1 ||
      EVP_EncryptInit_ex(ctx, nullptr, nullptr, key_->bytes.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &length, Bytes(aad_), static_cast<int>(aad_.size())) != 1) {
    return OpenSslError("starting a chunk");
  }
  size_t start = out->size();
  out->resize(start + plaintext.size() + envelope::kTagBytes);
  unsigned char* dest = reinterpret_cast<unsigned char*>(out->data() + start);
  int written = 0;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx, dest, &written, Bytes(plaintext),
                                              static_cast<int>(plaintext.size())) != 1) {
    return OpenSslError("encrypting a chunk");
  }
  if (EVP_EncryptFinal_ex(ctx, dest + written, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, envelope::kTagBytes,
                          dest + plaintext.size()) != 1) {
    return OpenSslError("finishing a chunk");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ChunkCipher::Open(uint64_t index, bool final, absl::string_view sealed,
                                       std::string* plaintext) {
  plaintext->clear();
  if (ctx_ == nullptr) return OpenSslError("allocating a context");
  if (sealed.size() < envelope::kTagBytes) return false;
  if (sealed.size() > INT_MAX) return OpenSslError("opening an oversized chunk");
  size_t cipher_bytes = sealed.size() - envelope::kTagBytes;
  envelope::Nonce nonce = envelope::ChunkNonce(base_nonce_, index, final);
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) !=
          1 ||
      EVP_DecryptInit_ex(ctx, nullptr, nullptr, key_->bytes.data(), nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &length, Bytes(aad_), static_cast<int>(aad_.size())) != 1) {
    return OpenSslError("starting a chunk");
  }
  plaintext->resize(cipher_bytes);
  unsigned char* dest = reinterpret_cast<unsigned char*>(plaintext->data());
  int written = 0;
  if (cipher_bytes > 0 &&
      EVP_DecryptUpdate(ctx, dest, &written, Bytes(sealed), static_cast<int>(cipher_bytes)) != 1) {
    return OpenSslError("decrypting a chunk");
  }
  // The tag is set before Final, which compares it in constant time.
  std::string tag(sealed.substr(cipher_bytes));
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, envelope::kTagBytes, tag.data()) != 1) {
    return OpenSslError("setting a tag");
  }
  if (EVP_DecryptFinal_ex(ctx, dest + written, &length) != 1) {
    // Unauthenticated bytes are never handed out.
    if (!plaintext->empty()) OPENSSL_cleanse(plaintext->data(), plaintext->size());
    plaintext->clear();
    return false;
  }
  return true;
}

}  // namespace walship::sinks
