// Row images a fold holds on disk instead of in memory: an append-only, unlinked temporary
// file (gone with the process, even when it is killed). The fold keeps only a reference per
// row once it holds more than a set amount in memory, so a long change window folds in
// bounded memory instead of ending the fold (and applying the rest row by row).
#ifndef WALSHIP_REPLAY_APPLY_LINE_SPILL_H_
#define WALSHIP_REPLAY_APPLY_LINE_SPILL_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::replay {

// Append() and Read() from one thread while appending; after Flush(), Read() from any
// number of threads at once.
class LineSpill {
 public:
  struct Ref {
    uint64_t offset = 0;
    uint32_t size = 0;
  };

  // A spill in the system's temporary directory ($TMPDIR or /tmp). Errors: kUnavailable.
  static absl::StatusOr<std::unique_ptr<LineSpill>> Create();
  ~LineSpill();

  // Whether lines are to be spilled now (the fold sets it once its memory passed a mark).
  bool spilling() const { return spilling_; }
  void set_spilling(bool spilling) { spilling_ = spilling; }

  // Stores `line`; kUnavailable (the disk full, say) leaves the caller to keep it.
  absl::StatusOr<Ref> Append(absl::string_view line);
  // Replaces `*out` with the line at `ref`. kDataLoss when the file lost it.
  absl::Status Read(Ref ref, std::string* out) const;
  // Writes out what Append() buffered.
  absl::Status Flush();
  uint64_t bytes() const { return end_; }

 private:
  explicit LineSpill(std::FILE* file) : file_(file) {}

  std::FILE* file_;
  bool spilling_ = false;
  std::string buffer_;  // appended lines from offset flushed_ on
  uint64_t flushed_ = 0;
  uint64_t end_ = 0;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_LINE_SPILL_H_
