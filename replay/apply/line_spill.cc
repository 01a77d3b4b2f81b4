// An unlinked temporary file of row images.
#include "replay/apply/line_spill.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace walship::replay {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<LineSpill>> LineSpill::Create() {
  std::FILE* file = std::tmpfile();
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrFormat(
        "cannot create a temporary file for the fold's spilled rows: %s (set TMPDIR to a "
        "directory with room)",
        std::strerror(errno)));
  }
  return std::unique_ptr<LineSpill>(new LineSpill(file));
}

LineSpill::~LineSpill() { std::fclose(file_); }

absl::StatusOr<LineSpill::Ref> LineSpill::Append(absl::string_view line) {
  if (line.size() > UINT32_MAX) return absl::UnavailableError("a row too long to spill");
  if (buffer_.size() + line.size() > kBufferBytes) {
    if (absl::Status flushed = Flush(); !flushed.ok()) return flushed;
  }
  Ref ref{end_, static_cast<uint32_t>(line.size())};
  buffer_.append(line.data(), line.size());
  end_ += line.size();
  return ref;
}

absl::Status LineSpill::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::pwrite(fileno(file_), buffer_.data() + done, buffer_.size() - done,
                         static_cast<off_t>(flushed_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrFormat("writing the fold's spilled rows: %s (set TMPDIR to a directory "
                          "with room, or lower --fold-memory-mb)",
                          n < 0 ? std::strerror(errno) : "no progress"));
    }
    done += static_cast<size_t>(n);
  }
  flushed_ += buffer_.size();
  buffer_.clear();
  return absl::OkStatus();
}

absl::Status LineSpill::Read(Ref ref, std::string* out) const {
  out->resize(ref.size);
  if (ref.offset >= flushed_) {  // still in the buffer
    out->assign(buffer_, ref.offset - flushed_, ref.size);
    return absl::OkStatus();
  }
  size_t done = 0;
  while (done < ref.size) {
    ssize_t n = ::pread(fileno(file_), out->data() + done, ref.size - done,
                        static_cast<off_t>(ref.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(absl::StrFormat(
          "reading a spilled row (%d bytes at %d) of the fold's temporary file: %s", ref.size,
          ref.offset, n < 0 ? std::strerror(errno) : "the file is shorter"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
