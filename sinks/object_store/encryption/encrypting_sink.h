// EncryptingSink: a ByteSink that encrypts what is appended to it into the envelope of
// envelope_format.h and writes the result to another ByteSink, in bounded memory.
#ifndef WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTING_SINK_H_
#define WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTING_SINK_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/byte_io.h"
#include "sinks/object_store/encryption/chunk_cipher.h"
#include "sinks/object_store/encryption/envelope_format.h"
#include "sinks/object_store/encryption/key_ring.h"

namespace walship::sinks {

// Usage: Create(out, "KEY", ring) → Append()... → Finish(). The object is complete only
// after Finish(). Encrypts with the ring's write key and a fresh random nonce. `out` and
// the ring must outlive the sink. Holds at most one chunk of plaintext and one of
// ciphertext. Not thread-safe. The first error is returned by every later call.
class EncryptingSink : public proto::ByteSink {
 public:
  static absl::StatusOr<std::unique_ptr<EncryptingSink>> Create(
      proto::ByteSink* out, absl::string_view object_key, const KeyRing& ring,
      uint32_t chunk_size = envelope::kDefaultChunkSize);
  ~EncryptingSink() override;

  absl::Status Append(absl::string_view data) override;
  // Plaintext bytes appended so far.
  uint64_t size() const override { return plaintext_bytes_; }
  // Seals the final chunk. No Append() after it.
  absl::Status Finish();

 private:
  EncryptingSink(proto::ByteSink* out, const EncryptionKey* key, envelope::Header header,
                 absl::string_view object_key);
  // Seals `pending_` as chunk `next_index_` and writes it out.
  absl::Status SealPending(bool final);

  proto::ByteSink* out_;
  envelope::Header header_;
  ChunkCipher cipher_;
  std::string pending_;  // plaintext of the chunk being filled; at most chunk_size bytes
  std::string sealed_;
  uint64_t next_index_ = 0;
  uint64_t plaintext_bytes_ = 0;
  bool finished_ = false;
  absl::Status error_;
};

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTING_SINK_H_
