// Ranged reads of an S3 object with a read-ahead window.
#include "sinks/object_store/s3/s3_object_source.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace walship::sinks::s3 {

S3ObjectSource::S3ObjectSource(std::shared_ptr<const S3Client> client, std::string key,
                               std::string full_key, uint64_t size)
    : client_(std::move(client)),
      key_(std::move(key)),
      full_key_(std::move(full_key)),
      size_(size) {}

absl::Status S3ObjectSource::ReadAt(uint64_t offset, size_t n, std::string* out) const {
  if (offset > size_ || n > size_ - offset) {
    return absl::OutOfRangeError(absl::StrFormat(
        "reading %d bytes at offset %d of object \"%s\" (%d bytes) in %s: past the end", n,
        offset, key_, size_, client_->url()));
  }
  out->clear();
  if (n == 0) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (offset >= window_offset_ && offset + n <= window_offset_ + window_.size()) {
    out->assign(window_, offset - window_offset_, n);
    return absl::OkStatus();
  }
  uint64_t length = std::min<uint64_t>(size_ - offset, std::max<uint64_t>(n, client_->options().read_ahead));
  S3Request request;
  request.method = "GET";
  request.full_key = full_key_;
  request.headers = {{"range", absl::StrCat("bytes=", offset, "-", offset + length - 1)}};
  request.max_response_bytes = size_;
  std::string what = absl::StrFormat("reading object \"%s\" at offset %d", key_, offset);
  absl::StatusOr<HttpResponse> response = client_->Send(request, what);
  if (!response.ok()) return response.status();
  std::string body;
  if (response->status == 206) {
    body = std::move(response->body);
  } else if (response->status == 200 && response->body.size() == size_) {
    body = response->body.substr(offset, length);  // a server that ignores Range
  } else {
    return client_->ErrorFor(*response, what);
  }
  if (body.size() != length) {
    return absl::DataLossError(absl::StrFormat(
        "%s in %s: asked for %d bytes, got %d (was the object replaced?)", what,
        client_->url(), length, body.size()));
  }
  window_offset_ = offset;
  window_ = std::move(body);
  out->assign(window_, 0, n);
  return absl::OkStatus();
}

}  // namespace walship::sinks::s3
