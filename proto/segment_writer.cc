// SegmentWriter: buffers at most one frame of raw records, compresses it with a reused
// zstd context, and hashes every byte it writes so the footer can seal the object.
#include "proto/segment_writer.h"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "proto/segment_coding.h"
#include "proto/segment_format.h"

namespace walship::proto {
namespace {

// The largest raw frame the writer emits: small enough that even incompressible data
// stays under the reader's kMaxFrameBytes once zstd adds its overhead (~1/256).
constexpr size_t kMaxRawFrameBytes = kMaxFrameBytes - kMaxFrameBytes / 64;
// A buffer grown past this by one large record is given back after its frame is written.
constexpr size_t kKeepBufferBytes = 2 * kTargetFrameRawBytes;
constexpr absl::string_view kMarkPrefix = "walship";
constexpr absl::string_view kMarkContentPrefix = "mark:";
constexpr absl::string_view kSequencesPrefix = "walship.sequences";

class SegmentWriterImpl : public SegmentWriter {
 public:
  SegmentWriterImpl(ByteSink* sink, v1::SegmentHeader header, SegmentWriterOptions options,
                    internal::ZstdCCtxPtr cctx)
      : sink_(sink), header_(std::move(header)), options_(options), cctx_(std::move(cctx)) {
    raw_.reserve(kTargetFrameRawBytes + kTargetFrameRawBytes / 4);
  }

  absl::Status WriteHeader() {
    if (!sha_.ok()) return absl::InternalError("sha-256 context could not be created");
    std::string header_bytes;
    if (!header_.SerializeToString(&header_bytes)) {
      return absl::InvalidArgumentError("segment header could not be serialized");
    }
    if (header_bytes.size() > kMaxHeaderBytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "segment header of %d bytes exceeds the format limit of %d", header_bytes.size(),
          kMaxHeaderBytes));
    }
    std::string out(kSegmentMagic, sizeof(kSegmentMagic));
    internal::PutFixed32(&out, static_cast<uint32_t>(header_bytes.size()));
    out += header_bytes;
    return Write(out);
  }

  absl::Status Add(const v1::Record& record) override {
    WALSHIP_RETURN_IF_ERROR(status_);
    if (finished_) return absl::FailedPreconditionError("segment writer: Add() after Finish()");
    const size_t size = record.ByteSizeLong();
    if (size + 5 > kMaxRawFrameBytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "record of %d bytes is larger than a segment frame allows (%d)", size,
          kMaxRawFrameBytes - 5));
    }
    if (raw_.size() + size + 5 > kMaxRawFrameBytes) WALSHIP_RETURN_IF_ERROR(FlushFrame());
    const size_t before = raw_.size();
    internal::PutVarint32(&raw_, static_cast<uint32_t>(size));
    const size_t start = raw_.size();
    raw_.resize(start + size);
    record.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(raw_.data() + start));
    raw_bytes_ += raw_.size() - before;
    trailer_.set_uncompressed_bytes(raw_bytes_);
    trailer_.set_record_count(trailer_.record_count() + 1);
    if (record.has_event()) CountEvent(record.event());
    if (raw_.size() >= kTargetFrameRawBytes) WALSHIP_RETURN_IF_ERROR(FlushFrame());
    return absl::OkStatus();
  }

  uint64_t bytes_written() const override { return bytes_written_; }
  uint64_t raw_bytes() const override { return raw_bytes_; }
  const v1::SegmentTrailer& trailer() const override { return trailer_; }

  void CarryOver(const v1::SegmentTrailer& earlier) override { carried_ = earlier; }
  void MarkAsPart(uint32_t number) override { part_number_ = number; }
  void SetPartsBefore(std::vector<v1::SegmentPartRef> parts) override {
    parts_before_ = std::move(parts);
  }

  absl::Status Finish(uint64_t previous_end_lsn) override {
    WALSHIP_RETURN_IF_ERROR(status_);
    if (finished_) return absl::FailedPreconditionError("segment writer: Finish() called twice");
    finished_ = true;
    WALSHIP_RETURN_IF_ERROR(FlushFrame());
    trailer_.set_previous_end_lsn(previous_end_lsn);
    for (uint32_t oid : changed_relations_) trailer_.add_changed_relations(oid);
    trailer_.set_changed_relations_listed(true);
    if (carried_.has_value()) trailer_ = MergeTrailers(*carried_, trailer_);
    trailer_.set_part_number(part_number_);
    trailer_.clear_parts();
    for (v1::SegmentPartRef& ref : parts_before_) *trailer_.add_parts() = std::move(ref);
    std::string trailer_bytes;
    if (!trailer_.SerializeToString(&trailer_bytes)) {
      return status_ = absl::InternalError("segment trailer could not be serialized");
    }
    const uint64_t trailer_offset = bytes_written_;
    if (trailer_offset + 5 + trailer_bytes.size() > UINT32_MAX) {
      return status_ = absl::InvalidArgumentError(absl::StrFormat(
                 "segment of %d bytes exceeds the 4 GiB format limit; roll segments sooner",
                 trailer_offset));
    }
    std::string block;
    block.push_back(static_cast<char>(kFrameTrailer));
    internal::PutFixed32(&block, static_cast<uint32_t>(trailer_bytes.size()));
    block += trailer_bytes;
    WALSHIP_RETURN_IF_ERROR(Write(block));

    std::array<unsigned char, internal::Sha256::kDigestBytes> digest = sha_.Finish();
    if (!sha_.ok()) return status_ = absl::InternalError("sha-256 of the segment failed");
    std::string footer;
    internal::PutFixed32(&footer, static_cast<uint32_t>(trailer_offset));
    footer.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    footer.append(kFooterMagic, sizeof(kFooterMagic));
    return WriteUnhashed(footer);
  }

 private:
  void CountEvent(const v1::Event& event) {
    const bool first = trailer_.event_count() == 0;
    if (first || event.commit_lsn() != trailer_.last_commit_lsn()) {
      trailer_.set_transaction_count(trailer_.transaction_count() + 1);
    }
    trailer_.set_event_count(trailer_.event_count() + 1);
    if (first) {
      trailer_.set_first_commit_lsn(event.commit_lsn());
      trailer_.set_first_commit_time_us(event.commit_time_us());
      trailer_.set_min_xid(event.xid());
      trailer_.set_max_xid(event.xid());
    } else {
      trailer_.set_min_xid(std::min(trailer_.min_xid(), event.xid()));
      trailer_.set_max_xid(std::max(trailer_.max_xid(), event.xid()));
    }
    trailer_.set_last_commit_lsn(event.commit_lsn());
    trailer_.set_last_commit_time_us(event.commit_time_us());
    if (event.end_lsn() != 0) trailer_.set_last_end_lsn(event.end_lsn());
    switch (event.op()) {
      case v1::INSERT:
      case v1::UPDATE:
      case v1::DELETE:
        changed_relations_.insert(event.relation().oid());
        break;
      case v1::TRUNCATE:
        changed_relations_.insert(event.relation().oid());
        for (const v1::Relation& relation : event.truncate().relations()) {
          changed_relations_.insert(relation.oid());
        }
        break;
      default:
        break;
    }

    if (event.op() == v1::MESSAGE && event.message().prefix() == kMarkPrefix &&
        absl::StartsWith(event.message().content(), kMarkContentPrefix)) {
      v1::Mark* mark = trailer_.add_marks();
      mark->set_name(event.message().content().substr(kMarkContentPrefix.size()));
      mark->set_commit_lsn(event.commit_lsn());
      mark->set_xid(event.xid());
      mark->set_commit_time_us(event.commit_time_us());
    }
    if (event.op() == v1::MESSAGE && event.message().prefix() == kSequencesPrefix) {
      trailer_.set_sequence_recordings(trailer_.sequence_recordings() + 1);
      trailer_.set_last_sequence_recording_lsn(event.commit_lsn());
    }
  }

  // Compresses (or copies) the raw buffer into one frame and writes it.
  absl::Status FlushFrame() {
    if (raw_.empty()) return absl::OkStatus();
    absl::string_view stored;
    if (header_.codec() == v1::CODEC_ZSTD) {
      stored_.resize(ZSTD_compressBound(raw_.size()));
      size_t n = ZSTD_compressCCtx(cctx_.get(), stored_.data(), stored_.size(), raw_.data(),
                                   raw_.size(), options_.zstd_level);
      if (ZSTD_isError(n)) {
        return status_ = absl::InternalError(
                   absl::StrFormat("zstd compression failed: %s", ZSTD_getErrorName(n)));
      }
      stored = absl::string_view(stored_.data(), n);
    } else {
      stored = raw_;
    }
    std::string frame_header;
    frame_header.push_back(static_cast<char>(kFrameRecords));
    internal::PutFixed32(&frame_header, static_cast<uint32_t>(stored.size()));
    internal::PutFixed32(&frame_header, static_cast<uint32_t>(raw_.size()));
    internal::PutFixed32(&frame_header, internal::Crc32(stored));
    WALSHIP_RETURN_IF_ERROR(Write(frame_header));
    WALSHIP_RETURN_IF_ERROR(Write(stored));
    raw_.clear();
    if (raw_.capacity() > kKeepBufferBytes) {
      raw_.shrink_to_fit();
      raw_.reserve(kTargetFrameRawBytes + kTargetFrameRawBytes / 4);
    }
    if (stored_.capacity() > kKeepBufferBytes) {
      stored_.clear();
      stored_.shrink_to_fit();
    }
    return absl::OkStatus();
  }

  absl::Status Write(absl::string_view data) {
    sha_.Update(data);
    if (!sha_.ok()) return status_ = absl::InternalError("sha-256 of the segment failed");
    return WriteUnhashed(data);
  }

  // The first sink error sticks: a half-written segment must never be finished.
  absl::Status WriteUnhashed(absl::string_view data) {
    status_ = sink_->Append(data);
    if (status_.ok()) bytes_written_ += data.size();
    return status_;
  }

  ByteSink* const sink_;
  const v1::SegmentHeader header_;
  const SegmentWriterOptions options_;
  internal::ZstdCCtxPtr cctx_;  // null for CODEC_NONE
  internal::Sha256 sha_;
  std::string raw_;     // records of the frame being gathered
  std::string stored_;  // compression output, reused across frames
  v1::SegmentTrailer trailer_;
  uint64_t bytes_written_ = 0;
  uint64_t raw_bytes_ = 0;
  bool finished_ = false;
  absl::Status status_;
  std::set<uint32_t> changed_relations_;  // for the trailer
  std::optional<v1::SegmentTrailer> carried_;  // the part before this object
  uint32_t part_number_ = 0;
  std::vector<v1::SegmentPartRef> parts_before_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(
    ByteSink* sink, const v1::SegmentHeader& header, SegmentWriterOptions options) {
  if (sink == nullptr) return absl::InvalidArgumentError("segment writer needs a sink");
  v1::SegmentHeader h = header;
  if (h.format_version() == 0) h.set_format_version(kSegmentFormatVersion);
  if (h.continued()) h.set_format_version(kSegmentFormatWithParts);
  if (h.format_version() != kSegmentFormatVersion &&
      h.format_version() != kSegmentFormatWithParts) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "segment format version %d is not supported; this writer writes version %d",
        h.format_version(), kSegmentFormatVersion));
  }
  internal::ZstdCCtxPtr cctx;
  switch (h.codec()) {
    case v1::CODEC_NONE:
      break;
    case v1::CODEC_ZSTD:
      if (options.zstd_level < ZSTD_minCLevel() || options.zstd_level > ZSTD_maxCLevel()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("zstd level %d is out of range [%d, %d]", options.zstd_level,
                            ZSTD_minCLevel(), ZSTD_maxCLevel()));
      }
      cctx.reset(ZSTD_createCCtx());
      if (cctx == nullptr) return absl::ResourceExhaustedError("zstd context: out of memory");
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("segment header codec %d is not supported; set CODEC_NONE or "
                          "CODEC_ZSTD",
                          static_cast<int>(h.codec())));
  }
  auto writer =
      std::make_unique<SegmentWriterImpl>(sink, std::move(h), options, std::move(cctx));
  WALSHIP_RETURN_IF_ERROR(writer->WriteHeader());
  return std::unique_ptr<SegmentWriter>(std::move(writer));
}

v1::SegmentTrailer MergeTrailers(const v1::SegmentTrailer& earlier,
                                 const v1::SegmentTrailer& later) {
  v1::SegmentTrailer merged = later;
  const bool early = earlier.event_count() > 0;
  const bool late = later.event_count() > 0;
  merged.set_event_count(earlier.event_count() + later.event_count());
  uint64_t transactions = earlier.transaction_count() + later.transaction_count();
  // A transaction cut between the two is one transaction.
  if (early && late && earlier.last_commit_lsn() == later.first_commit_lsn()) --transactions;
  merged.set_transaction_count(transactions);
  if (early) {
    merged.set_first_commit_lsn(earlier.first_commit_lsn());
    merged.set_first_commit_time_us(earlier.first_commit_time_us());
    if (!late) {
      merged.set_last_commit_lsn(earlier.last_commit_lsn());
      merged.set_last_commit_time_us(earlier.last_commit_time_us());
      merged.set_min_xid(earlier.min_xid());
      merged.set_max_xid(earlier.max_xid());
    } else {
      merged.set_min_xid(std::min(earlier.min_xid(), later.min_xid()));
      merged.set_max_xid(std::max(earlier.max_xid(), later.max_xid()));
    }
  }
  if (later.last_end_lsn() == 0) merged.set_last_end_lsn(earlier.last_end_lsn());
  merged.clear_marks();
  for (const v1::Mark& mark : earlier.marks()) *merged.add_marks() = mark;
  for (const v1::Mark& mark : later.marks()) *merged.add_marks() = mark;
  std::set<uint32_t> relations(earlier.changed_relations().begin(),
                               earlier.changed_relations().end());
  relations.insert(later.changed_relations().begin(), later.changed_relations().end());
  merged.clear_changed_relations();
  for (uint32_t oid : relations) merged.add_changed_relations(oid);
  merged.set_changed_relations_listed(earlier.changed_relations_listed() &&
                                      later.changed_relations_listed());
  merged.clear_parts();  // only the completing object names parts (its own list)
  merged.set_sequence_recordings(earlier.sequence_recordings() + later.sequence_recordings());
  if (later.sequence_recordings() == 0) {
    merged.set_last_sequence_recording_lsn(earlier.last_sequence_recording_lsn());
  }
  return merged;
}

}  // namespace walship::proto
