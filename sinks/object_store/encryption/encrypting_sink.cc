// Chunked encryption. A full chunk is sealed only once more data arrives (or at Finish),
// because the final chunk carries the "final" bit in its nonce.
#include "sinks/object_store/encryption/encrypting_sink.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/str_format.h"

namespace walship::sinks {

absl::StatusOr<std::unique_ptr<EncryptingSink>> EncryptingSink::Create(proto::ByteSink* out,
                                                                       absl::string_view object_key,
                                                                       const KeyRing& ring,
                                                                       uint32_t chunk_size) {
  if (chunk_size == 0 || chunk_size > envelope::kMaxChunkSize) {
    return absl::InvalidArgumentError(absl::StrFormat("encryption chunk size %d is outside 1..%d",
                                                      chunk_size, envelope::kMaxChunkSize));
  }
  const EncryptionKey& key = ring.write_key();
  envelope::Header header;
  header.key_id = key.id;
  header.chunk_size = chunk_size;
  if (RAND_bytes(header.base_nonce.data(), static_cast<int>(header.base_nonce.size())) != 1) {
    return absl::InternalError("OpenSSL RAND_bytes failed to make a nonce");
  }
  std::unique_ptr<EncryptingSink> sink(new EncryptingSink(out, &key, header, object_key));
  absl::Status status = out->Append(header.Encode());
  if (!status.ok()) return status;
  return sink;
}

EncryptingSink::EncryptingSink(proto::ByteSink* out, const EncryptionKey* key,
                               envelope::Header header, absl::string_view object_key)
    : out_(out),
      header_(std::move(header)),
      cipher_(key, header_.base_nonce, object_key, header_.Encode()) {
  pending_.reserve(header_.chunk_size);
}

EncryptingSink::~EncryptingSink() {
  if (!pending_.empty()) OPENSSL_cleanse(pending_.data(), pending_.size());
}

absl::Status EncryptingSink::SealPending(bool final) {
  sealed_.clear();
  absl::Status status = cipher_.Seal(next_index_, final, pending_, &sealed_);
  if (status.ok()) status = out_->Append(sealed_);
  if (!pending_.empty()) OPENSSL_cleanse(pending_.data(), pending_.size());
  pending_.clear();
  ++next_index_;
  return status;
}

absl::Status EncryptingSink::Append(absl::string_view data) {
  if (!error_.ok()) return error_;
  if (finished_) return absl::FailedPreconditionError("append to a finished encrypted object");
  while (!data.empty()) {
    if (pending_.size() == header_.chunk_size) {
      error_ = SealPending(/*final=*/false);
      if (!error_.ok()) return error_;
    }
    size_t take = std::min<size_t>(data.size(), header_.chunk_size - pending_.size());
    pending_.append(data.data(), take);
    data.remove_prefix(take);
    plaintext_bytes_ += take;
  }
  return absl::OkStatus();
}

absl::Status EncryptingSink::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return absl::OkStatus();
  finished_ = true;
  error_ = SealPending(/*final=*/true);
  return error_;
}

}  // namespace walship::sinks
