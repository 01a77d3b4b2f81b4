// SegmentBuilder: one change segment being built in a staging file, whole transactions at a
// time, with each relation's description stored once per segment unless it changes.
#ifndef WALSHIP_SINKS_OBJECT_STORE_SEGMENT_BUILDER_H_
#define WALSHIP_SINKS_OBJECT_STORE_SEGMENT_BUILDER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/core/lsn.h"
#include "proto/byte_io.h"
#include "proto/segment_writer.h"
#include "proto/transaction.h"
#include "proto/walship.pb.h"

namespace walship::sinks {

// A part of a segment split across objects: a complete file, stored before the segment.
struct FinishedPart {
  std::string path;    // its staging file
  std::string key;     // where it is stored
  uint64_t bytes = 0;  // file size
  std::string footer;  // as for FinishedSegment
};

// A segment whose file is complete (not yet fsynced) and ready to be stored.
struct FinishedSegment {
  std::string path;    // the staging file
  Lsn first_commit;    // commit LSN of its first transaction
  Lsn last_end;        // end LSN of its last transaction
  uint64_t bytes = 0;  // file size
  v1::SegmentTrailer trailer;
  // The file's last bytes as written (the segment footer, which holds the SHA-256 of all
  // before it): the upload checks the file against them, so a file changed on disk after
  // it was written is never stored.
  std::string footer;
  // Not a file: segments already in the store up to `last_end` (a refill reached them);
  // storing it only moves the watermark.
  bool already_stored = false;
  // Set when this entry is a part of a split segment, handed over as soon as it was sealed
  // (nothing else is set): storing it moves no watermark. The segment's own file comes
  // after all its parts, and its trailer names them.
  std::optional<FinishedPart> part;
};

// Owns its staging file until Finish() hands it over; when destroyed unfinished it removes
// the file. Not thread-safe.
class SegmentBuilder {
 public:
  // Creates `path` (it must not exist) and writes the segment header.
  static absl::StatusOr<std::unique_ptr<SegmentBuilder>> Create(std::string path,
                                                                const v1::SegmentHeader& header,
                                                                int zstd_level,
                                                                absl::Time opened_at);
  ~SegmentBuilder();
  SegmentBuilder(const SegmentBuilder&) = delete;
  SegmentBuilder& operator=(const SegmentBuilder&) = delete;

  // Splits the segment across objects: once the object being written holds `raw_limit` raw
  // bytes, the next record of the same transaction goes into a new object (the one before
  // becomes a part, named by `part_key(first commit, number from 1)`). Without it a
  // transaction larger than the format's 4 GiB fails.
  // Each sealed part is handed to `on_part` at once (the sink stores it while the rest is
  // written); an error there fails AddTransaction.
  void SetPartLimit(uint64_t raw_limit, std::function<std::string(Lsn, int)> part_key,
                    std::function<absl::Status(FinishedPart)> on_part);

  // Appends every record of `txn`. A RelationDef byte-identical to the last one this
  // segment holds for its OID is dropped; the first per OID, and any change, is kept.
  absl::Status AddTransaction(const proto::Transaction& txn);

  // Raw (uncompressed) record bytes so far, parts included.
  uint64_t raw_bytes() const { return parts_raw_bytes_ + writer_->raw_bytes(); }
  // When its first transaction was added (the sink's group-commit clock).
  absl::Time opened_at() const { return opened_at_; }
  bool empty() const { return transactions_ == 0; }

  // Writes trailer and footer and closes the file. No other call after it.
  absl::StatusOr<FinishedSegment> Finish(Lsn previous_end);

 private:
  SegmentBuilder(std::string path, int fd, absl::Time opened_at);
  // Finishes the object being written as the next part and opens its continuation.
  absl::Status SealPart();
  absl::Status OpenObject();

  std::string path_;
  v1::SegmentHeader header_;
  int zstd_level_ = 0;
  uint64_t part_limit_ = 0;  // 0: no splitting
  std::function<std::string(Lsn, int)> part_key_;
  std::function<absl::Status(FinishedPart)> on_part_;
  std::vector<v1::SegmentPartRef> part_refs_;
  uint64_t parts_raw_bytes_ = 0;
  int fd_;
  absl::Time opened_at_;
  // Forwards to the file and keeps the last bytes written (the footer).
  class TailKeepingSink : public proto::ByteSink {
   public:
    TailKeepingSink(int fd, std::string path) : file_(fd, std::move(path)) {}
    absl::Status Append(absl::string_view data) override;
    uint64_t size() const override { return file_.size(); }
    const std::string& tail() const { return tail_; }

   private:
    proto::FdByteSink file_;
    std::string tail_;
  };
  std::unique_ptr<TailKeepingSink> sink_;
  std::unique_ptr<proto::SegmentWriter> writer_;  // writes to *sink_
  absl::flat_hash_map<RelationOid, std::string> relation_defs_;  // serialized, per OID
  uint64_t transactions_ = 0;
  Lsn first_commit_;
  Lsn last_end_;
  bool finished_ = false;
};

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_OBJECT_STORE_SEGMENT_BUILDER_H_
