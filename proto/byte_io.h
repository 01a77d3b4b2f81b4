// Byte sinks and random-access sources the segment codec writes to and reads from.
#ifndef WALSHIP_PROTO_BYTE_IO_H_
#define WALSHIP_PROTO_BYTE_IO_H_

#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace walship::proto {

// Append-only destination. Not thread-safe.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Append(absl::string_view data) = 0;
  // Bytes appended so far.
  virtual uint64_t size() const = 0;
};

// Random-access, read-only bytes of one object. `name` is used in every error message
// (the object's key). Thread-compatible.
class RandomAccessSource {
 public:
  virtual ~RandomAccessSource() = default;
  virtual const std::string& name() const = 0;
  virtual uint64_t size() const = 0;
  // Reads exactly `n` bytes at `offset` into `out` (resized); reading past the end is
  // kOutOfRange.
  virtual absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) const = 0;
};

// A ByteSink that keeps the bytes in memory.
class StringByteSink : public ByteSink {
 public:
  absl::Status Append(absl::string_view data) override;
  uint64_t size() const override { return data_.size(); }
  const std::string& data() const { return data_; }
  std::string Release() { return std::move(data_); }

 private:
  std::string data_;
};

// A ByteSink that appends to an open file descriptor it does not own (no fsync: the
// caller decides when to make the file durable). Retries EINTR and short writes; errors
// name the path and the errno text, and a full disk (ENOSPC, EDQUOT) is kResourceExhausted
// saying "disk full".
class FdByteSink : public ByteSink {
 public:
  explicit FdByteSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  absl::Status Append(absl::string_view data) override;
  uint64_t size() const override { return size_; }

 private:
  int fd_;
  std::string path_;
  uint64_t size_ = 0;
};

// Sources over memory and over a file.
std::unique_ptr<RandomAccessSource> MakeStringSource(std::string name, std::string data);
// Opens `path`; `name` is what errors call it (the object key). The source owns the file
// descriptor (closed by its destructor) and reads with pread, so reads do not move a shared
// offset. The size is taken at open.
absl::StatusOr<std::unique_ptr<RandomAccessSource>> OpenFileSource(std::string name,
                                                                   const std::string& path);

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_BYTE_IO_H_
