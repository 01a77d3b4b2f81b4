// Builds one change segment in a staging file.
#include "sinks/object_store/segment_builder.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "proto/segment_format.h"
#include "sinks/object_store/file_util.h"

namespace walship::sinks {

absl::StatusOr<std::unique_ptr<SegmentBuilder>> SegmentBuilder::Create(
    std::string path, const v1::SegmentHeader& header, int zstd_level, absl::Time opened_at) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return sinks::ErrnoStatus(errno,
                                 absl::StrFormat("creating staging file \"%s\"", path));
  }
  std::unique_ptr<SegmentBuilder> builder(new SegmentBuilder(std::move(path), fd, opened_at));
  builder->header_ = header;
  builder->zstd_level_ = zstd_level;
  proto::SegmentWriterOptions options;
  options.zstd_level = zstd_level;
  WALSHIP_ASSIGN_OR_RETURN(builder->writer_,
                           proto::SegmentWriter::Create(builder->sink_.get(), header, options));
  return builder;
}

void SegmentBuilder::SetPartLimit(uint64_t raw_limit,
                                  std::function<std::string(Lsn, int)> part_key,
                                  std::function<absl::Status(FinishedPart)> on_part) {
  part_limit_ = raw_limit;
  part_key_ = std::move(part_key);
  on_part_ = std::move(on_part);
}

absl::Status SegmentBuilder::SealPart() {
  const int number = static_cast<int>(part_refs_.size()) + 1;
  writer_->MarkAsPart(static_cast<uint32_t>(number));
  WALSHIP_RETURN_IF_ERROR(writer_->Finish(0));
  v1::SegmentTrailer carried = writer_->trailer();
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    return sinks::ErrnoStatus(errno, absl::StrFormat("closing staging file \"%s\"", path_));
  }
  FinishedPart part;
  part.path = absl::StrFormat("%s.part%06d", path_, number);
  if (::rename(path_.c_str(), part.path.c_str()) != 0) {
    return sinks::ErrnoStatus(errno, absl::StrFormat("renaming staging file \"%s\"", path_));
  }
  part.key = part_key_(first_commit_, number);
  part.bytes = sink_->size();
  part.footer = sink_->tail();
  v1::SegmentPartRef ref;
  ref.set_key(part.key);
  ref.set_bytes(part.bytes);
  ref.set_sha256(part.footer.substr(4, 32));
  part_refs_.push_back(std::move(ref));
  parts_raw_bytes_ += writer_->raw_bytes();
  WALSHIP_RETURN_IF_ERROR(OpenObject());
  writer_->CarryOver(carried);
  return on_part_(std::move(part));  // the file is the sink's from here on
}

// The next object of a split segment, under the same staging name; its header says that it
// continues one (the completing object's trailer names the parts).
absl::Status SegmentBuilder::OpenObject() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return sinks::ErrnoStatus(errno,
                                 absl::StrFormat("creating staging file \"%s\"", path_));
  }
  fd_ = fd;
  writer_.reset();
  sink_ = std::make_unique<TailKeepingSink>(fd, path_);
  v1::SegmentHeader header = header_;
  header.set_continued(true);
  proto::SegmentWriterOptions options;
  options.zstd_level = zstd_level_;
  WALSHIP_ASSIGN_OR_RETURN(writer_, proto::SegmentWriter::Create(sink_.get(), header, options));
  return absl::OkStatus();
}

SegmentBuilder::SegmentBuilder(std::string path, int fd, absl::Time opened_at)
    : path_(std::move(path)),
      fd_(fd),
      opened_at_(opened_at),
      sink_(std::make_unique<TailKeepingSink>(fd, path_)) {}

SegmentBuilder::~SegmentBuilder() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_) ::unlink(path_.c_str());
}

absl::Status SegmentBuilder::AddTransaction(const proto::Transaction& txn) {
  if (transactions_ == 0 && part_refs_.empty()) first_commit_ = txn.info().commit_lsn;
  WALSHIP_RETURN_IF_ERROR(txn.ForEachRecord([this](const v1::Record& record) -> absl::Status {
    if (part_limit_ > 0 && writer_->raw_bytes() >= part_limit_) {
      WALSHIP_RETURN_IF_ERROR(SealPart());
    }
    if (record.has_relation_def()) {
      std::string serialized = record.relation_def().SerializeAsString();
      auto [it, inserted] = relation_defs_.try_emplace(RelationOid(record.relation_def().oid()), serialized);
      if (!inserted) {
        if (it->second == serialized) return absl::OkStatus();  // already described here
        it->second = std::move(serialized);
      }
    }
    return writer_->Add(record);
  }));
  const proto::TransactionInfo& info = txn.info();
  last_end_ = info.end_lsn;
  ++transactions_;
  return absl::OkStatus();
}

absl::StatusOr<FinishedSegment> SegmentBuilder::Finish(Lsn previous_end) {
  if (!part_refs_.empty()) writer_->SetPartsBefore(part_refs_);
  WALSHIP_RETURN_IF_ERROR(writer_->Finish(previous_end.value()));
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    return sinks::ErrnoStatus(errno,
                                 absl::StrFormat("closing staging file \"%s\"", path_));
  }
  finished_ = true;
  FinishedSegment segment;
  segment.path = path_;
  segment.first_commit = first_commit_;
  segment.last_end = last_end_;
  segment.bytes = sink_->size();
  segment.trailer = writer_->trailer();
  segment.footer = sink_->tail();
  return segment;
}

absl::Status SegmentBuilder::TailKeepingSink::Append(absl::string_view data) {
  WALSHIP_RETURN_IF_ERROR(file_.Append(data));
  if (data.size() >= proto::kFooterBytes) {
    absl::string_view last = data.substr(data.size() - proto::kFooterBytes);
    tail_.assign(last.data(), last.size());
  } else {
    tail_.append(data.data(), data.size());
    if (tail_.size() > proto::kFooterBytes) tail_.erase(0, tail_.size() - proto::kFooterBytes);
  }
  return absl::OkStatus();
}

}  // namespace walship::sinks
