// A RandomAccessSource over the plaintext of an encrypted object, decrypting chunks on
// demand.
#ifndef WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTED_SOURCE_H_
#define WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTED_SOURCE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/byte_io.h"
#include "sinks/object_store/encryption/key_ring.h"

namespace walship::sinks {

// Wraps `stored`, the stored bytes of the object named `object_key` (the associated data
// its chunks were sealed with). Before returning it reads the header, finds its key in
// `ring` and authenticates the final chunk, so size() (the plaintext size) is trustworthy.
// ReadAt() authenticates every chunk it touches before copying any byte of it, and keeps
// the last chunk it decrypted for the next read. The returned source is thread-safe.
// Errors: key id not in the ring kFailedPrecondition; not an encrypted object, truncated,
// or failed authentication kDataLoss; a failure of `stored` keeps its code (a bucket that
// went away stays kUnavailable) with the object named.
absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> OpenEncryptedSource(
    absl::string_view object_key, std::unique_ptr<proto::RandomAccessSource> stored,
    std::shared_ptr<const KeyRing> ring);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_ENCRYPTION_ENCRYPTED_SOURCE_H_
