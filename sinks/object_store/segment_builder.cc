// Builds one change segment in a staging file.
#include "sinks/object_store/segment_builder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"
#include "agent/base/status_macros.h"
#include "proto/segment_format.h"
#include "sinks/object_store/file_util.h"

namespace walship::sinks {

absl::StatusOr<std::unique_ptr<SegmentBuilder>> SegmentBuilder::Create(
    std::string path, const v1::SegmentHeader& header, int zstd_level, absl::Time opened_at) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fileutil::ErrnoStatus(errno,
                                 absl::StrFormat("creating staging file \"%s\"", path));
  }
  std::unique_ptr<SegmentBuilder> builder(new SegmentBuilder(std::move(path), fd, opened_at));
  proto::SegmentWriterOptions options;
  options.zstd_level = zstd_level;
  WALSHIP_ASSIGN_OR_RETURN(builder->writer_,
                           proto::SegmentWriter::Create(builder->sink_.get(), header, options));
  return builder;
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
  WALSHIP_RETURN_IF_ERROR(txn.ForEachRecord([this](const v1::Record& record) -> absl::Status {
    if (record.has_relation_def()) {
      std::string serialized = record.relation_def().SerializeAsString();
      auto [it, inserted] = relation_defs_.try_emplace(record.relation_def().oid(), serialized);
      if (!inserted) {
        if (it->second == serialized) return absl::OkStatus();  // already described here
        it->second = std::move(serialized);
      }
    }
    return writer_->Add(record);
  }));
  const proto::TransactionInfo& info = txn.info();
  if (transactions_ == 0) first_commit_ = info.commit_lsn;
  last_end_ = info.end_lsn;
  ++transactions_;
  return absl::OkStatus();
}

absl::StatusOr<FinishedSegment> SegmentBuilder::Finish(Lsn previous_end) {
  WALSHIP_RETURN_IF_ERROR(writer_->Finish(previous_end.value()));
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    return fileutil::ErrnoStatus(errno,
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
