// In-memory and file-backed byte sinks and sources for the segment codec.
#include "proto/byte_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace walship::proto {
namespace {

absl::Status RangeError(const std::string& name, uint64_t offset, size_t n, uint64_t size) {
  return absl::OutOfRangeError(absl::StrFormat(
      "reading %d bytes at byte %d of \"%s\" goes past its end (%d bytes)", n, offset, name,
      size));
}

bool RangeOk(uint64_t offset, size_t n, uint64_t size) {
  return offset <= size && n <= size - offset;
}

class StringSource : public RandomAccessSource {
 public:
  StringSource(std::string name, std::string data)
      : name_(std::move(name)), data_(std::move(data)) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return data_.size(); }
  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) const override {
    if (!RangeOk(offset, n, data_.size())) return RangeError(name_, offset, n, data_.size());
    out->assign(data_, offset, n);
    return absl::OkStatus();
  }

 private:
  std::string name_;
  std::string data_;
};

// Owns `fd_` and closes it on destruction. The size is taken once at open: objects are
// immutable, so a file that changes underneath is reported as truncated or corrupt.
class FileSource : public RandomAccessSource {
 public:
  FileSource(std::string name, std::string path, int fd, uint64_t size)
      : name_(std::move(name)), path_(std::move(path)), fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  const std::string& name() const override { return name_; }
  uint64_t size() const override { return size_; }
  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) const override {
    if (!RangeOk(offset, n, size_)) return RangeError(name_, offset, n, size_);
    out->resize(n);
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::pread(fd_, out->data() + done, n - done,
                            static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        return absl::ErrnoToStatus(
            err, absl::StrFormat("reading \"%s\" at byte %d", path_, offset + done));
      }
      if (got == 0) {
        // The file shrank after it was opened.
        return absl::OutOfRangeError(absl::StrFormat(
            "\"%s\" ended at byte %d, before its size at open (%d)", path_, offset + done,
            size_));
      }
      done += static_cast<size_t>(got);
    }
    return absl::OkStatus();
  }

 private:
  std::string name_;
  std::string path_;
  int fd_;
  uint64_t size_;
};

}  // namespace

absl::Status StringByteSink::Append(absl::string_view data) {
  data_.append(data.data(), data.size());
  return absl::OkStatus();
}

absl::Status FdByteSink::Append(absl::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t wrote = ::write(fd_, p, left);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      if (err == ENOSPC || err == EDQUOT) {
        return absl::ResourceExhaustedError(absl::StrFormat(
            "writing \"%s\" at byte %d: disk full (%s); free space and retry", path_, size_,
            std::strerror(err)));
      }
      return absl::ErrnoToStatus(err, absl::StrFormat("writing \"%s\" at byte %d", path_, size_));
    }
    p += wrote;
    left -= static_cast<size_t>(wrote);
    size_ += static_cast<uint64_t>(wrote);
  }
  return absl::OkStatus();
}

std::unique_ptr<RandomAccessSource> MakeStringSource(std::string name, std::string data) {
  return std::make_unique<StringSource>(std::move(name), std::move(data));
}

absl::StatusOr<std::unique_ptr<RandomAccessSource>> OpenFileSource(std::string name,
                                                                   const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    return absl::ErrnoToStatus(err, absl::StrFormat("opening \"%s\"", path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return absl::ErrnoToStatus(err, absl::StrFormat("examining \"%s\"", path));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrFormat("\"%s\" is not a regular file", path));
  }
  return std::unique_ptr<RandomAccessSource>(std::make_unique<FileSource>(
      std::move(name), path, fd, static_cast<uint64_t>(st.st_size)));
}

}  // namespace walship::proto
