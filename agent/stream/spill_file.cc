// Spill file I/O.
#include "agent/stream/spill_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace walship::agent {
namespace {

constexpr size_t kWriteBufferBytes = 1 << 20;
constexpr uint32_t kMaxSpillRecordBytes = 1u << 30;

absl::Status IoError(const std::string& what, const std::string& path, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "disk full while %s \"%s\": free space there or point --work-dir elsewhere", what, path));
  }
  return absl::ErrnoToStatus(err, absl::StrFormat("%s \"%s\"", what, path));
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SpillFile>> SpillFile::Create(const std::string& dir, Xid xid) {
  static std::atomic<uint64_t> counter{0};
  std::string path = absl::StrFormat("%s/spill-%u-%d-%u.tmp", dir, xid.value(), getpid(),
                                     counter.fetch_add(1));
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("creating spill file", path, errno);
  return std::unique_ptr<SpillFile>(new SpillFile(fd, path));
}

SpillFile::~SpillFile() {
  close(fd_);
  unlink(path_.c_str());
}

absl::Status SpillFile::Append(Xid subxid, const v1::Record& record) {
  size_t size = record.ByteSizeLong();
  PutU32(&buffer_, static_cast<uint32_t>(size));
  PutU32(&buffer_, subxid.value());
  size_t at = buffer_.size();
  buffer_.resize(at + size);
  record.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(buffer_.data() + at));
  if (buffer_.size() >= kWriteBufferBytes) return WriteBuffer();
  return absl::OkStatus();
}

absl::Status SpillFile::WriteBuffer() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("writing spill file", path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  bytes_ += buffer_.size();
  buffer_.clear();
  return absl::OkStatus();
}

absl::Status SpillFile::FinishWriting() { return WriteBuffer(); }

absl::Status SpillFile::ForEach(absl::FunctionRef<absl::Status(Xid, v1::Record&)> fn) const {
  std::string chunk;
  chunk.resize(kWriteBufferBytes);
  std::string pending;  // bytes read but not yet consumed
  uint64_t offset = 0;
  v1::Record record;
  while (true) {
    ssize_t n = pread(fd_, chunk.data(), chunk.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("reading spill file", path_, errno);
    }
    if (n == 0) break;
    offset += static_cast<uint64_t>(n);
    pending.append(chunk.data(), static_cast<size_t>(n));
    size_t pos = 0;
    while (pending.size() - pos >= 8) {
      uint32_t size = GetU32(pending.data() + pos);
      Xid subxid(GetU32(pending.data() + pos + 4));
      if (size > kMaxSpillRecordBytes) {
        return absl::DataLossError(absl::StrFormat("spill file \"%s\" is corrupt", path_));
      }
      if (pending.size() - pos - 8 < size) break;
      if (!record.ParseFromArray(pending.data() + pos + 8, static_cast<int>(size))) {
        return absl::DataLossError(absl::StrFormat("spill file \"%s\" is corrupt", path_));
      }
      pos += 8 + size;
      absl::Status status = fn(subxid, record);
      if (!status.ok()) return status;
    }
    pending.erase(0, pos);
  }
  if (!pending.empty()) {
    return absl::DataLossError(absl::StrFormat("spill file \"%s\" is truncated", path_));
  }
  return absl::OkStatus();
}

void RemoveStaleSpillFiles(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (struct dirent* entry = readdir(d)) {
    if (absl::StartsWith(entry->d_name, "spill-") && absl::EndsWith(entry->d_name, ".tmp")) {
      unlink(absl::StrCat(dir, "/", entry->d_name).c_str());
    }
  }
  closedir(d);
}

}  // namespace walship::agent
