// Chunk-at-a-time authenticated decryption behind the RandomAccessSource interface.
#include "sinks/object_store/encryption/encrypted_source.h"

#include <algorithm>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/encryption/chunk_cipher.h"
#include "sinks/object_store/encryption/envelope_format.h"

namespace walship::sinks {
namespace {

constexpr uint64_t kNoChunk = ~uint64_t{0};

class EncryptedSource : public proto::RandomAccessSource {
 public:
  EncryptedSource(std::string object_key, std::unique_ptr<proto::RandomAccessSource> stored,
                  std::shared_ptr<const KeyRing> ring, const EncryptionKey* key,
                  envelope::Header header, std::string header_bytes, envelope::Layout layout)
      : object_key_(std::move(object_key)),
        stored_(std::move(stored)),
        ring_(std::move(ring)),
        key_id_(header.key_id),
        layout_(layout),
        cipher_(key, header.base_nonce, object_key_, header_bytes) {}

  const std::string& name() const override { return stored_->name(); }
  uint64_t size() const override { return layout_.plaintext_size; }

  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) const override {
    out->clear();
    if (offset > size() || n > size() - offset) {
      return absl::OutOfRangeError(
          absl::StrFormat("reading %d bytes at offset %d of object \"%s\", which holds %d bytes", n,
                          offset, object_key_, size()));
    }
    out->reserve(n);
    absl::MutexLock lock(&mu_);
    while (n > 0) {
      uint64_t index = offset / layout_.chunk_size;
      absl::Status loaded = LoadChunk(index);
      if (!loaded.ok()) {
        out->clear();  // nothing of a failed read is handed out
        return loaded;
      }
      size_t within = static_cast<size_t>(offset - index * layout_.chunk_size);
      size_t take = std::min(n, cached_plain_.size() - within);
      out->append(cached_plain_, within, take);
      offset += take;
      n -= take;
    }
    return absl::OkStatus();
  }

  // Authenticates and caches chunk `index`.
  absl::Status LoadChunk(uint64_t index) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (cached_index_ == index) return absl::OkStatus();
    cached_index_ = kNoChunk;
    uint64_t offset = layout_.StoredChunkOffset(index);
    size_t length = static_cast<size_t>(layout_.PlainChunkSize(index) + envelope::kTagBytes);
    absl::Status read = stored_->ReadAt(offset, length, &sealed_);
    if (absl::IsOutOfRange(read)) {
      return absl::DataLossError(
          absl::StrFormat("encrypted object \"%s\" is truncated: chunk %d at byte %d is missing",
                          object_key_, index, offset));
    }
    WALSHIP_RETURN_IF_ERROR(Annotate(
        read, absl::StrFormat("reading encrypted object \"%s\" at byte %d", object_key_, offset)));
    bool final = index + 1 == layout_.chunk_count;
    WALSHIP_ASSIGN_OR_RETURN(bool authentic, cipher_.Open(index, final, sealed_, &cached_plain_));
    if (!authentic) {
      // A last chunk that authenticates as a middle chunk means the object was cut at a
      // chunk boundary.
      absl::StatusOr<bool> middle = cipher_.Open(index, false, sealed_, &cached_plain_);
      cached_plain_.clear();
      if (final && middle.ok() && *middle) {
        return absl::DataLossError(absl::StrFormat(
            "encrypted object \"%s\" is truncated: it ends after chunk %d, which is not its "
            "final chunk",
            object_key_, index));
      }
      return absl::DataLossError(absl::StrFormat(
          "object \"%s\" failed authentication with key \"%s\": wrong key, tampered or "
          "truncated, or copied from another key name",
          object_key_, key_id_));
    }
    cached_index_ = index;
    return absl::OkStatus();
  }

  absl::Status LoadLastChunk() {
    absl::MutexLock lock(&mu_);
    return LoadChunk(layout_.chunk_count - 1);
  }

 private:
  const std::string object_key_;
  const std::unique_ptr<proto::RandomAccessSource> stored_;
  const std::shared_ptr<const KeyRing> ring_;  // keeps the key alive for cipher_
  const std::string key_id_;
  const envelope::Layout layout_;

  mutable absl::Mutex mu_;
  mutable ChunkCipher cipher_ ABSL_GUARDED_BY(mu_);
  mutable std::string sealed_ ABSL_GUARDED_BY(mu_);
  mutable std::string cached_plain_ ABSL_GUARDED_BY(mu_);
  mutable uint64_t cached_index_ ABSL_GUARDED_BY(mu_) = kNoChunk;
};

}  // namespace

absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> OpenEncryptedSource(
    absl::string_view object_key, std::unique_ptr<proto::RandomAccessSource> stored,
    std::shared_ptr<const KeyRing> ring) {
  uint64_t stored_size = stored->size();
  std::string head;
  size_t head_bytes =
      static_cast<size_t>(std::min<uint64_t>(stored_size, envelope::kMaxHeaderBytes));
  WALSHIP_RETURN_IF_ERROR(Annotate(stored->ReadAt(0, head_bytes, &head),
                                   absl::StrFormat("reading encrypted object \"%s\"", object_key)));
  WALSHIP_ASSIGN_OR_RETURN(envelope::Header header, envelope::ParseHeader(object_key, head));
  const EncryptionKey* key = ring->Find(header.key_id);
  if (key == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("object \"%s\" is encrypted with key \"%s\", which is not in the key ring "
                        "(--encryption-key-file)",
                        object_key, header.key_id));
  }
  WALSHIP_ASSIGN_OR_RETURN(envelope::Layout layout,
                           envelope::LayoutFromStoredSize(object_key, header, stored_size));
  std::string header_bytes = head.substr(0, header.EncodedSize());
  auto source =
      std::make_unique<EncryptedSource>(std::string(object_key), std::move(stored), std::move(ring),
                                        key, std::move(header), std::move(header_bytes), layout);
  WALSHIP_RETURN_IF_ERROR(source->LoadLastChunk());
  return std::unique_ptr<proto::RandomAccessSource>(std::move(source));
}

}  // namespace walship::sinks
