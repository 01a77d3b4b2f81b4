// Index checksums, incarnation and gap records, and the stored chain.
#include "sinks/object_store/stream_history.h"

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "proto/segment_coding.h"
#include "proto/segment_reader.h"

namespace walship::sinks {
namespace {

// The checksum field as the serializer writes it: tag (field 15, length-delimited), length
// 32, digest.
constexpr char kChecksumTag[] = {'\x7A', '\x20'};
constexpr size_t kChecksumFieldBytes = 2 + proto::internal::Sha256::kDigestBytes;

std::string Digest(absl::string_view bytes) {
  proto::internal::Sha256 sha;
  sha.Update(bytes);
  auto digest = sha.Finish();
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json + "\n";
}

absl::Status FromJson(absl::string_view key, absl::string_view bytes,
                      google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(bytes.data(), bytes.size()), message, options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrFormat("object \"%s\" is not a valid %s: %s", key,
                                               message->GetDescriptor()->name(),
                                               std::string(status.message())));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeSegmentIndex(v1::SegmentIndex index) {
  // format_version goes first (parsers accept fields in any order), so that no truncation
  // of a format 2 index reads as a format 1 one without a checksum.
  static_assert(kIndexFormatVersion < 128, "one-byte varint");
  index.clear_format_version();
  index.clear_checksum();
  std::string bytes = {'\x20', static_cast<char>(kIndexFormatVersion)};
  bytes += index.SerializeAsString();
  absl::StrAppend(&bytes, absl::string_view(kChecksumTag, 2), Digest(bytes));
  return bytes;
}

absl::StatusOr<v1::SegmentIndex> DecodeSegmentIndex(absl::string_view key,
                                                    absl::string_view bytes) {
  v1::SegmentIndex index;
  if (!index.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(
        absl::StrFormat("index object \"%s\" is not a valid SegmentIndex (damaged; the "
                        "segment it describes can be indexed again by starting the agent)",
                        key));
  }
  if (index.format_version() > kIndexFormatVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "index object \"%s\" has format version %d, newer than this walship reads (%d): "
        "upgrade walship",
        key, index.format_version(), kIndexFormatVersion));
  }
  if (index.format_version() >= 2) {
    bool framed = bytes.size() >= kChecksumFieldBytes &&
                  bytes.substr(bytes.size() - kChecksumFieldBytes, 2) ==
                      absl::string_view(kChecksumTag, 2);
    if (!framed ||
        Digest(bytes.substr(0, bytes.size() - kChecksumFieldBytes)) != index.checksum()) {
      return absl::DataLossError(absl::StrFormat(
          "index object \"%s\" fails its checksum (damaged in the store); delete it and start "
          "the agent, which indexes the segment again",
          key));
    }
  } else if (index.has_trailer() && !index.checksum().empty()) {
    return absl::DataLossError(
        absl::StrFormat("index object \"%s\" has a checksum but no format version", key));
  }
  if (std::optional<Lsn> end = ParseSegmentIndexKey(key);
      end && index.trailer().last_end_lsn() != end->value()) {
    return absl::DataLossError(absl::StrFormat(
        "index object \"%s\" says its segment ends at %s, not at the LSN in its name", key,
        Lsn(index.trailer().last_end_lsn()).ToString()));
  }
  return index;
}

std::string EncodeIncarnation(const v1::StreamIncarnation& record) { return ToJson(record); }

absl::StatusOr<v1::StreamIncarnation> DecodeIncarnation(absl::string_view key,
                                                        absl::string_view bytes) {
  v1::StreamIncarnation record;
  WALSHIP_RETURN_IF_ERROR(FromJson(key, bytes, &record));
  if (record.format_version() > kIncarnationFormatVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "incarnation record \"%s\" has format version %d, newer than this walship reads (%d): "
        "upgrade walship",
        key, record.format_version(), kIncarnationFormatVersion));
  }
  std::optional<uint32_t> number = ParseIncarnationKey(key);
  if (!number || record.number() != *number || record.id().empty() ||
      record.system_id().empty() || record.timeline() == 0) {
    return absl::DataLossError(absl::StrFormat(
        "incarnation record \"%s\" is damaged (its number, id, system id or timeline is "
        "missing or does not match its name)",
        key));
  }
  if (!record.branch().empty() && record.branch() != BranchName(record.timeline())) {
    return absl::DataLossError(absl::StrFormat(
        "incarnation record \"%s\" names branch \"%s\" for timeline %d", key, record.branch(),
        record.timeline()));
  }
  return record;
}

absl::StatusOr<std::vector<v1::StreamIncarnation>> LoadIncarnations(ObjectStore& store,
                                                                    const StreamId& stream) {
  WALSHIP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                           store.List(IncarnationPrefix(stream)));
  std::vector<v1::StreamIncarnation> records;
  for (const ObjectInfo& object : objects) {
    if (!ParseIncarnationKey(object.key)) continue;
    WALSHIP_ASSIGN_OR_RETURN(std::string bytes, store.Get(object.key));
    WALSHIP_ASSIGN_OR_RETURN(v1::StreamIncarnation record, DecodeIncarnation(object.key, bytes));
    if (record.system_id() != stream.system_id || record.slot() != stream.slot) {
      return absl::DataLossError(absl::StrFormat(
          "incarnation record \"%s\" belongs to %s/%s", object.key, record.system_id(),
          record.slot()));
    }
    records.push_back(std::move(record));
  }
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.number() < b.number(); });
  return records;
}

absl::Status PutIncarnation(ObjectStore& store, const StreamId& stream,
                            const v1::StreamIncarnation& record) {
  std::string key = IncarnationKey(stream, record.number());
  absl::Status put = store.Put(key, EncodeIncarnation(record));
  if (!absl::IsAlreadyExists(put)) return put;
  WALSHIP_ASSIGN_OR_RETURN(std::string bytes, store.Get(key));
  WALSHIP_ASSIGN_OR_RETURN(v1::StreamIncarnation existing, DecodeIncarnation(key, bytes));
  if (existing.id() == record.id()) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrFormat(
      "incarnation record \"%s\" in %s already holds incarnation id %s, not %s: is another "
      "agent streaming the same slot into this store?",
      key, store.url(), existing.id(), record.id()));
}

absl::StatusOr<std::vector<v1::GapRecord>> LoadGapRecords(ObjectStore& store,
                                                          const StreamId& stream) {
  WALSHIP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store.List(GapPrefix(stream)));
  std::vector<v1::GapRecord> gaps;
  for (const ObjectInfo& object : objects) {
    if (!absl::EndsWith(object.key, ".json")) continue;
    WALSHIP_ASSIGN_OR_RETURN(std::string bytes, store.Get(object.key));
    v1::GapRecord gap;
    WALSHIP_RETURN_IF_ERROR(FromJson(object.key, bytes, &gap));
    if (object.key != GapKey(stream, Lsn(gap.from_lsn()), Lsn(gap.to_lsn())) ||
        gap.to_lsn() <= gap.from_lsn()) {
      return absl::DataLossError(absl::StrFormat(
          "gap record \"%s\" is damaged (its range does not match its name)", object.key));
    }
    gaps.push_back(std::move(gap));
  }
  std::sort(gaps.begin(), gaps.end(),
            [](const auto& a, const auto& b) { return a.from_lsn() < b.from_lsn(); });
  return gaps;
}

absl::Status PutGapRecord(ObjectStore& store, const StreamId& stream, const v1::GapRecord& gap) {
  absl::Status put =
      store.Put(GapKey(stream, Lsn(gap.from_lsn()), Lsn(gap.to_lsn())), ToJson(gap));
  return absl::IsAlreadyExists(put) ? absl::OkStatus() : put;
}

StoredChain BuildChain(std::vector<ChainLink> links) {
  std::sort(links.begin(), links.end(), [](const ChainLink& a, const ChainLink& b) {
    if (a.first_commit != b.first_commit) return a.first_commit < b.first_commit;
    return a.last_end < b.last_end;
  });
  StoredChain chain;
  for (const ChainLink& link : links) {
    if (!chain.runs.empty() && link.last_end <= chain.runs.back().end) continue;  // covered
    if (chain.runs.empty() || link.previous_end > chain.runs.back().end) {
      chain.runs.push_back({link.previous_end, link.last_end, 1});
      continue;
    }
    chain.runs.back().end = link.last_end;
    ++chain.runs.back().segments;
  }
  return chain;
}

absl::StatusOr<StoredChain> ReadStoredChain(ObjectStore& store, const StreamId& stream, Lsn from,
                                            const v1::SegmentIndex& identity) {
  WALSHIP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> segments, store.List(stream.Prefix() + "wal/"));
  WALSHIP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> indexes, store.List(stream.Prefix() + "index/"));
  absl::flat_hash_set<uint64_t> indexed;
  for (const ObjectInfo& index : indexes) {
    if (auto end = ParseSegmentIndexKey(index.key)) indexed.insert(end->value());
  }
  struct Named {
    std::string key;
    ParsedSegmentKey parsed;
  };
  std::vector<Named> named;
  for (const ObjectInfo& segment : segments) {
    if (auto parsed = ParseWalSegmentKey(segment.key)) named.push_back({segment.key, *parsed});
  }
  std::sort(named.begin(), named.end(), [](const Named& a, const Named& b) {
    return a.parsed.last_end < b.parsed.last_end;
  });
  // The segments that end after `from`, and the one before them (it links the first).
  size_t begin = 0;
  while (begin < named.size() && named[begin].parsed.last_end <= from) ++begin;
  if (begin > 0) --begin;
  std::vector<ChainLink> links;
  for (size_t i = begin; i < named.size(); ++i) {
    const Named& segment = named[i];
    std::string index_key = SegmentIndexKey(stream, segment.parsed.last_end);
    v1::SegmentIndex index;
    if (indexed.contains(segment.parsed.last_end.value())) {
      WALSHIP_ASSIGN_OR_RETURN(std::string bytes, store.Get(index_key));
      WALSHIP_ASSIGN_OR_RETURN(index, DecodeSegmentIndex(index_key, bytes));
    } else {
      LogWarning("segment \"%s\" in %s has no index object; writing it", segment.key, store.url());
      std::string context = absl::StrFormat("repairing the index of segment \"%s\"", segment.key);
      absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> opened = store.Open(segment.key);
      WALSHIP_RETURN_IF_ERROR(Annotate(opened.status(), context));
      std::unique_ptr<proto::RandomAccessSource> source = *std::move(opened);
      absl::StatusOr<std::unique_ptr<proto::SegmentReader>> reader =
          proto::SegmentReader::Open(source.get());
      WALSHIP_RETURN_IF_ERROR(Annotate(reader.status(), context));
      const v1::SegmentHeader& header = (*reader)->header();
      index.set_segment_key(segment.key);
      index.set_segment_bytes(source->size());
      *index.mutable_trailer() = (*reader)->trailer();
      index.set_system_id(header.system_id());
      index.set_timeline(header.timeline());
      index.set_incarnation(header.incarnation());
      index.set_incarnation_id(header.incarnation_id());
      absl::Status put = store.Put(index_key, EncodeSegmentIndex(index));
      if (!put.ok() && !absl::IsAlreadyExists(put)) return Annotate(put, context);
    }
    if (!index.system_id().empty() && !identity.system_id().empty() &&
        index.system_id() != identity.system_id()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "index object \"%s\" in %s belongs to database system %s, not %s", index_key,
          store.url(), index.system_id(), identity.system_id()));
    }
    if (index.timeline() != 0 && identity.timeline() != 0 &&
        index.timeline() != identity.timeline()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "index object \"%s\" in %s belongs to timeline %d, but this branch follows timeline %d",
          index_key, store.url(), index.timeline(), identity.timeline()));
    }
    links.push_back({segment.key, Lsn(index.trailer().first_commit_lsn()),
                     Lsn(index.trailer().last_end_lsn()), Lsn(index.trailer().previous_end_lsn())});
  }
  const size_t read = links.size();
  StoredChain chain = BuildChain(std::move(links));
  chain.segments_read = read;
  return chain;
}

}  // namespace walship::sinks
