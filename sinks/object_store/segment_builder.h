// SegmentBuilder: one change segment being built in a staging file, whole transactions at a
// time, with each relation's description stored once per segment unless it changes.
#ifndef WALSHIP_SINKS_OBJECT_STORE_SEGMENT_BUILDER_H_
#define WALSHIP_SINKS_OBJECT_STORE_SEGMENT_BUILDER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/base/lsn.h"
#include "proto/byte_io.h"
#include "proto/segment_writer.h"
#include "proto/transaction.h"
#include "proto/walship.pb.h"

namespace walship::sinks {

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

  // Appends every record of `txn`. A RelationDef byte-identical to the last one this
  // segment holds for its OID is dropped; the first per OID, and any change, is kept.
  absl::Status AddTransaction(const proto::Transaction& txn);

  // Raw (uncompressed) record bytes so far.
  uint64_t raw_bytes() const { return writer_->raw_bytes(); }
  // When its first transaction was added (the sink's group-commit clock).
  absl::Time opened_at() const { return opened_at_; }
  bool empty() const { return transactions_ == 0; }

  // Writes trailer and footer and closes the file. No other call after it.
  absl::StatusOr<FinishedSegment> Finish(Lsn previous_end);

 private:
  SegmentBuilder(std::string path, int fd, absl::Time opened_at);

  std::string path_;
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
