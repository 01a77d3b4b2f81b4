// An unlinked-on-destruction temporary file of (subxid, record) entries, written once and
// read back any number of times. Format per entry: u32 length | u32 subxid | Record bytes
// (little-endian). Not thread-safe.
#ifndef WALSHIP_AGENT_STREAM_SPILL_FILE_H_
#define WALSHIP_AGENT_STREAM_SPILL_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"

namespace walship::agent {

class SpillFile {
 public:
  // Creates a new file in `dir`; its name starts with "spill-" so start-up can clean
  // leftovers of a crash.
  static absl::StatusOr<std::unique_ptr<SpillFile>> Create(const std::string& dir, Xid xid);
  ~SpillFile();

  absl::Status Append(Xid subxid, const v1::Record& record);
  // Writes what is buffered (no fsync: spill files need not survive a crash).
  absl::Status FinishWriting();
  // Calls `fn` for every entry in order.
  absl::Status ForEach(absl::FunctionRef<absl::Status(Xid, v1::Record&)> fn) const;
  uint64_t bytes() const { return bytes_; }

 private:
  SpillFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  absl::Status WriteBuffer();

  int fd_;
  std::string path_;
  std::string buffer_;
  uint64_t bytes_ = 0;
};

// Removes spill files left by a crashed run.
void RemoveStaleSpillFiles(const std::string& dir);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_SPILL_FILE_H_
