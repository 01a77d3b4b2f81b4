// S3ObjectSource: a RandomAccessSource over one S3 object, read with ranged GETs through a
// small read-ahead window (segment readers make many small sequential reads).
#ifndef WALSHIP_SINKS_OBJECT_STORE_S3_S3_OBJECT_SOURCE_H_
#define WALSHIP_SINKS_OBJECT_STORE_S3_S3_OBJECT_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/byte_io.h"
#include "sinks/object_store/s3/s3_client.h"

namespace walship::sinks::s3 {

// Thread-safe. Keeps the client alive through its shared_ptr, so it may outlive the store.
// The size is the one seen when the object was opened (objects are written once).
class S3ObjectSource : public proto::RandomAccessSource {
 public:
  S3ObjectSource(std::shared_ptr<const S3Client> client, std::string key, std::string full_key,
                 uint64_t size);

  const std::string& name() const override { return key_; }
  uint64_t size() const override { return size_; }
  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) const override;

 private:
  const std::shared_ptr<const S3Client> client_;
  const std::string key_;
  const std::string full_key_;
  const uint64_t size_;
  mutable absl::Mutex mu_;
  mutable uint64_t window_offset_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::string window_ ABSL_GUARDED_BY(mu_);
};

}  // namespace walship::sinks::s3

#endif  // WALSHIP_SINKS_OBJECT_STORE_S3_S3_OBJECT_SOURCE_H_
