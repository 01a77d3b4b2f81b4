// pgoutput protocol version 2 decoder: one Decode<Message> function per message type over
// a bounds-checked reader. Layouts are counted in agent/pg/pgoutput_wire.h.
#include "agent/pg/pgoutput_decoder.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "agent/pg/pgoutput_reader.h"
#include "agent/pg/pgoutput_wire.h"

namespace walship::agent {
namespace {


// PostgreSQL timestamps count from 2000-01-01; ours from 1970-01-01. The check keeps a
// corrupt value from overflowing.
absl::StatusOr<int64_t> ReadTimestamp(PgOutputReader& reader, absl::string_view field) {
  const size_t offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(int64_t pg_time, reader.ReadInt64(field));
  if (pg_time > std::numeric_limits<int64_t>::max() - pg::kPgEpochOffsetUs) {
    return reader.ErrorAt(offset, absl::StrFormat("%s %d is out of range", field, pg_time));
  }
  return pg_time + pg::kPgEpochOffsetUs;
}

absl::StatusOr<Lsn> ReadLsn(PgOutputReader& reader, absl::string_view field) {
  WALSHIP_ASSIGN_OR_RETURN(uint64_t value, reader.ReadUint64(field));
  return Lsn(value);
}

absl::StatusOr<std::string> ReadString(PgOutputReader& reader, absl::string_view field) {
  WALSHIP_ASSIGN_OR_RETURN(absl::string_view value, reader.ReadCString(field));
  return std::string(value);
}

absl::StatusOr<Xid> ReadXid(PgOutputReader& reader, const char* what) {
  WALSHIP_ASSIGN_OR_RETURN(uint32_t xid, reader.ReadUint32(what));
  return Xid(xid);
}

absl::StatusOr<RelationOid> ReadRelationOid(PgOutputReader& reader) {
  WALSHIP_ASSIGN_OR_RETURN(uint32_t oid, reader.ReadUint32("relation oid"));
  return RelationOid(oid);
}

// Inside a streamed block, changes carry the xid of their (sub)transaction first.
absl::StatusOr<std::optional<Xid>> ReadStreamXid(PgOutputReader& reader, bool in_stream) {
  if (!in_stream) return std::optional<Xid>();
  WALSHIP_ASSIGN_OR_RETURN(Xid xid, ReadXid(reader, "xid"));
  return std::optional<Xid>(xid);
}

// Reads a length-prefixed column value; a negative length is corruption, not "null".
absl::StatusOr<std::string> ReadColumnData(PgOutputReader& reader) {
  const size_t offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(int32_t length, reader.ReadInt32("column length"));
  if (length < 0) {
    return reader.ErrorAt(offset, absl::StrFormat("negative column length %d", length));
  }
  WALSHIP_ASSIGN_OR_RETURN(absl::string_view data,
                           reader.ReadBytes(static_cast<size_t>(length), "column data"));
  return std::string(data);
}

absl::StatusOr<Tuple> ReadTuple(PgOutputReader& reader) {
  WALSHIP_ASSIGN_OR_RETURN(uint16_t count, reader.ReadUint16("column count"));
  Tuple tuple;
  // Every column takes at least one byte, so a corrupt count cannot make us allocate much.
  tuple.reserve(std::min<size_t>(count, reader.remaining()));
  for (uint16_t i = 0; i < count; ++i) {
    const size_t offset = reader.offset();
    WALSHIP_ASSIGN_OR_RETURN(uint8_t kind, reader.ReadUint8("column kind"));
    TupleValue value;
    switch (static_cast<char>(kind)) {
      case pg::kColumnNull:
        value.kind = TupleValue::Kind::kNull;
        break;
      case pg::kColumnUnchangedToast:
        value.kind = TupleValue::Kind::kUnchangedToast;
        break;
      case pg::kColumnText: {
        value.kind = TupleValue::Kind::kText;
        WALSHIP_ASSIGN_OR_RETURN(value.data, ReadColumnData(reader));
        break;
      }
      case pg::kColumnBinary: {
        value.kind = TupleValue::Kind::kBinary;
        WALSHIP_ASSIGN_OR_RETURN(value.data, ReadColumnData(reader));
        break;
      }
      default:
        return reader.ErrorAt(offset, absl::StrFormat("unknown kind 0x%02X of column %d",
                                                      kind, i + 1));
    }
    tuple.push_back(std::move(value));
  }
  return tuple;
}

// Reads a tuple marker byte and checks it is one of `allowed`.
absl::StatusOr<char> ReadTupleMarker(PgOutputReader& reader, absl::string_view allowed) {
  const size_t offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(uint8_t marker, reader.ReadUint8("tuple marker"));
  if (allowed.find(static_cast<char>(marker)) == absl::string_view::npos) {
    return reader.ErrorAt(offset, absl::StrFormat("tuple marker 0x%02X is not one of \"%s\"",
                                                  marker, allowed));
  }
  return static_cast<char>(marker);
}

absl::StatusOr<uint8_t> ReadCommitFlags(PgOutputReader& reader) {
  const size_t offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(uint8_t flags, reader.ReadUint8("flags"));
  if (flags != pg::kCommitFlagsAllowed) {
    return reader.ErrorAt(offset, absl::StrFormat("unknown commit flags 0x%02X", flags));
  }
  return flags;
}

absl::StatusOr<BeginMessage> DecodeBegin(PgOutputReader& reader) {
  BeginMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.final_lsn, ReadLsn(reader, "final lsn"));
  WALSHIP_ASSIGN_OR_RETURN(m.commit_time_us, ReadTimestamp(reader, "commit time"));
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadXid(reader, "xid"));
  return m;
}

absl::StatusOr<CommitMessage> DecodeCommit(PgOutputReader& reader) {
  CommitMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.flags, ReadCommitFlags(reader));
  WALSHIP_ASSIGN_OR_RETURN(m.commit_lsn, ReadLsn(reader, "commit lsn"));
  WALSHIP_ASSIGN_OR_RETURN(m.end_lsn, ReadLsn(reader, "end lsn"));
  WALSHIP_ASSIGN_OR_RETURN(m.commit_time_us, ReadTimestamp(reader, "commit time"));
  return m;
}

absl::StatusOr<OriginMessage> DecodeOrigin(PgOutputReader& reader) {
  OriginMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.commit_lsn, ReadLsn(reader, "origin lsn"));
  WALSHIP_ASSIGN_OR_RETURN(m.name, ReadString(reader, "origin name"));
  return m;
}

absl::StatusOr<RelationMessage> DecodeRelation(PgOutputReader& reader, bool in_stream) {
  RelationMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadStreamXid(reader, in_stream));
  WALSHIP_ASSIGN_OR_RETURN(m.oid, ReadRelationOid(reader));
  WALSHIP_ASSIGN_OR_RETURN(m.schema, ReadString(reader, "schema name"));
  WALSHIP_ASSIGN_OR_RETURN(m.table, ReadString(reader, "relation name"));
  const size_t identity_offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(uint8_t identity, reader.ReadUint8("replica identity"));
  switch (static_cast<char>(identity)) {
    case pg::kReplicaIdentityDefault:
    case pg::kReplicaIdentityNothing:
    case pg::kReplicaIdentityFull:
    case pg::kReplicaIdentityIndex:
      m.replica_identity = static_cast<char>(identity);
      break;
    default:
      return reader.ErrorAt(identity_offset,
                            absl::StrFormat("unknown replica identity 0x%02X", identity));
  }
  WALSHIP_ASSIGN_OR_RETURN(uint16_t count, reader.ReadUint16("column count"));
  m.columns.reserve(std::min<size_t>(count, reader.remaining()));
  for (uint16_t i = 0; i < count; ++i) {
    RelationColumn column;
    const size_t flags_offset = reader.offset();
    WALSHIP_ASSIGN_OR_RETURN(uint8_t flags, reader.ReadUint8("column flags"));
    if ((flags & ~pg::kColumnFlagKey) != 0) {
      return reader.ErrorAt(flags_offset, absl::StrFormat("unknown flags 0x%02X of column %d",
                                                          flags, i + 1));
    }
    column.key = (flags & pg::kColumnFlagKey) != 0;
    WALSHIP_ASSIGN_OR_RETURN(column.name, ReadString(reader, "column name"));
    WALSHIP_ASSIGN_OR_RETURN(column.type_oid, reader.ReadUint32("column type oid"));
    WALSHIP_ASSIGN_OR_RETURN(column.type_modifier, reader.ReadInt32("column type modifier"));
    m.columns.push_back(std::move(column));
  }
  return m;
}

absl::StatusOr<TypeMessage> DecodeType(PgOutputReader& reader, bool in_stream) {
  TypeMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadStreamXid(reader, in_stream));
  WALSHIP_ASSIGN_OR_RETURN(m.oid, reader.ReadUint32("type oid"));
  WALSHIP_ASSIGN_OR_RETURN(m.schema, ReadString(reader, "schema name"));
  WALSHIP_ASSIGN_OR_RETURN(m.name, ReadString(reader, "type name"));
  return m;
}

absl::StatusOr<InsertMessage> DecodeInsert(PgOutputReader& reader, bool in_stream) {
  InsertMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadStreamXid(reader, in_stream));
  WALSHIP_ASSIGN_OR_RETURN(m.relation, ReadRelationOid(reader));
  WALSHIP_RETURN_IF_ERROR(ReadTupleMarker(reader, "N").status());
  WALSHIP_ASSIGN_OR_RETURN(m.new_tuple, ReadTuple(reader));
  return m;
}

absl::StatusOr<UpdateMessage> DecodeUpdate(PgOutputReader& reader, bool in_stream) {
  UpdateMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadStreamXid(reader, in_stream));
  WALSHIP_ASSIGN_OR_RETURN(m.relation, ReadRelationOid(reader));
  WALSHIP_ASSIGN_OR_RETURN(char marker, ReadTupleMarker(reader, "KON"));
  if (marker != pg::kTupleNew) {
    m.old_kind = marker;
    WALSHIP_ASSIGN_OR_RETURN(m.old_tuple, ReadTuple(reader));
    WALSHIP_RETURN_IF_ERROR(ReadTupleMarker(reader, "N").status());
  }
  WALSHIP_ASSIGN_OR_RETURN(m.new_tuple, ReadTuple(reader));
  return m;
}

absl::StatusOr<DeleteMessage> DecodeDelete(PgOutputReader& reader, bool in_stream) {
  DeleteMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadStreamXid(reader, in_stream));
  WALSHIP_ASSIGN_OR_RETURN(m.relation, ReadRelationOid(reader));
  WALSHIP_ASSIGN_OR_RETURN(m.old_kind, ReadTupleMarker(reader, "KO"));
  WALSHIP_ASSIGN_OR_RETURN(m.old_tuple, ReadTuple(reader));
  return m;
}

absl::StatusOr<TruncateMessage> DecodeTruncate(PgOutputReader& reader, bool in_stream) {
  TruncateMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadStreamXid(reader, in_stream));
  const size_t count_offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(int32_t count, reader.ReadInt32("relation count"));
  if (count < 0) {
    return reader.ErrorAt(count_offset, absl::StrFormat("negative relation count %d", count));
  }
  const size_t options_offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(uint8_t options, reader.ReadUint8("options"));
  if ((options & ~(pg::kTruncateCascade | pg::kTruncateRestartIdentity)) != 0) {
    return reader.ErrorAt(options_offset,
                          absl::StrFormat("unknown truncate options 0x%02X", options));
  }
  m.cascade = (options & pg::kTruncateCascade) != 0;
  m.restart_identity = (options & pg::kTruncateRestartIdentity) != 0;
  m.relations.reserve(std::min<size_t>(static_cast<size_t>(count), reader.remaining() / 4));
  for (int32_t i = 0; i < count; ++i) {
    WALSHIP_ASSIGN_OR_RETURN(RelationOid oid, ReadRelationOid(reader));
    m.relations.push_back(oid);
  }
  return m;
}

absl::StatusOr<LogicalMessage> DecodeMessage(PgOutputReader& reader, bool in_stream) {
  LogicalMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadStreamXid(reader, in_stream));
  const size_t flags_offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(uint8_t flags, reader.ReadUint8("flags"));
  if ((flags & ~pg::kMessageTransactional) != 0) {
    return reader.ErrorAt(flags_offset, absl::StrFormat("unknown message flags 0x%02X", flags));
  }
  m.transactional = (flags & pg::kMessageTransactional) != 0;
  WALSHIP_ASSIGN_OR_RETURN(m.lsn, ReadLsn(reader, "message lsn"));
  WALSHIP_ASSIGN_OR_RETURN(m.prefix, ReadString(reader, "prefix"));
  const size_t length_offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(int32_t length, reader.ReadInt32("content length"));
  if (length < 0) {
    return reader.ErrorAt(length_offset, absl::StrFormat("negative content length %d", length));
  }
  WALSHIP_ASSIGN_OR_RETURN(absl::string_view content,
                           reader.ReadBytes(static_cast<size_t>(length), "content"));
  m.content = std::string(content);
  return m;
}

absl::StatusOr<StreamStartMessage> DecodeStreamStart(PgOutputReader& reader) {
  StreamStartMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadXid(reader, "xid"));
  const size_t offset = reader.offset();
  WALSHIP_ASSIGN_OR_RETURN(uint8_t first, reader.ReadUint8("first segment"));
  if (first > 1) {
    return reader.ErrorAt(offset, absl::StrFormat("first segment flag 0x%02X is not 0 or 1",
                                                  first));
  }
  m.first_segment = first == 1;
  return m;
}

absl::StatusOr<StreamCommitMessage> DecodeStreamCommit(PgOutputReader& reader) {
  StreamCommitMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadXid(reader, "xid"));
  WALSHIP_ASSIGN_OR_RETURN(m.flags, ReadCommitFlags(reader));
  WALSHIP_ASSIGN_OR_RETURN(m.commit_lsn, ReadLsn(reader, "commit lsn"));
  WALSHIP_ASSIGN_OR_RETURN(m.end_lsn, ReadLsn(reader, "end lsn"));
  WALSHIP_ASSIGN_OR_RETURN(m.commit_time_us, ReadTimestamp(reader, "commit time"));
  return m;
}

absl::StatusOr<StreamAbortMessage> DecodeStreamAbort(PgOutputReader& reader) {
  StreamAbortMessage m;
  WALSHIP_ASSIGN_OR_RETURN(m.xid, ReadXid(reader, "xid"));
  WALSHIP_ASSIGN_OR_RETURN(m.subxid, ReadXid(reader, "subtransaction xid"));
  return m;
}

// Converts a StatusOr<T> of one alternative into StatusOr<PgOutputMessage>.
template <typename T>
absl::StatusOr<PgOutputMessage> Widen(absl::StatusOr<T> result) {
  if (!result.ok()) return result.status();
  return PgOutputMessage(std::move(result).value());
}

// Which messages may appear inside a streamed block (PostgreSQL's apply worker enforces
// the same). Everything else there means we lost track of the stream.
bool AllowedInStream(char type) {
  switch (type) {
    case pg::kOrigin:
    case pg::kRelation:
    case pg::kType:
    case pg::kInsert:
    case pg::kUpdate:
    case pg::kDelete:
    case pg::kTruncate:
    case pg::kMessage:
    case pg::kStreamStop:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<PgOutputMessage> PgOutputDecoder::Decode(absl::string_view data) {
  if (data.empty()) return absl::DataLossError("empty pgoutput message");
  const char type = data[0];
  const std::string type_name = PgOutputMessageTypeName(type);
  PgOutputReader reader(data, type_name);
  WALSHIP_RETURN_IF_ERROR(reader.ReadUint8("message type").status());

  if (in_stream_ && !AllowedInStream(type)) {
    return reader.ErrorAt(0, "message not allowed inside a streamed block");
  }
  if (!in_stream_ && type == pg::kStreamStop) {
    return reader.ErrorAt(0, "stream stop outside a streamed block");
  }
  absl::StatusOr<PgOutputMessage> result;
  switch (type) {
    case pg::kBegin:
      result = Widen(DecodeBegin(reader));
      break;
    case pg::kCommit:
      result = Widen(DecodeCommit(reader));
      break;
    case pg::kOrigin:
      result = Widen(DecodeOrigin(reader));
      break;
    case pg::kRelation:
      result = Widen(DecodeRelation(reader, in_stream_));
      break;
    case pg::kType:
      result = Widen(DecodeType(reader, in_stream_));
      break;
    case pg::kInsert:
      result = Widen(DecodeInsert(reader, in_stream_));
      break;
    case pg::kUpdate:
      result = Widen(DecodeUpdate(reader, in_stream_));
      break;
    case pg::kDelete:
      result = Widen(DecodeDelete(reader, in_stream_));
      break;
    case pg::kTruncate:
      result = Widen(DecodeTruncate(reader, in_stream_));
      break;
    case pg::kMessage:
      result = Widen(DecodeMessage(reader, in_stream_));
      break;
    case pg::kStreamStart:
      result = Widen(DecodeStreamStart(reader));
      break;
    case pg::kStreamStop:
      result = PgOutputMessage(StreamStopMessage{});
      break;
    case pg::kStreamCommit:
      result = Widen(DecodeStreamCommit(reader));
      break;
    case pg::kStreamAbort:
      result = Widen(DecodeStreamAbort(reader));
      break;
    default:
      return reader.ErrorAt(0, "unknown or unsupported message type for protocol version 2");
  }
  if (!result.ok()) return result.status();
  WALSHIP_RETURN_IF_ERROR(reader.ExpectEnd());

  // The state changes only once the whole message has decoded.
  if (type == pg::kStreamStart) in_stream_ = true;
  if (type == pg::kStreamStop) in_stream_ = false;
  return result;
}

std::string PgOutputMessageTypeName(char type) {
  switch (type) {
    case pg::kBegin:
      return "BEGIN";
    case pg::kCommit:
      return "COMMIT";
    case pg::kOrigin:
      return "ORIGIN";
    case pg::kRelation:
      return "RELATION";
    case pg::kType:
      return "TYPE";
    case pg::kInsert:
      return "INSERT";
    case pg::kUpdate:
      return "UPDATE";
    case pg::kDelete:
      return "DELETE";
    case pg::kTruncate:
      return "TRUNCATE";
    case pg::kMessage:
      return "MESSAGE";
    case pg::kStreamStart:
      return "STREAM START";
    case pg::kStreamStop:
      return "STREAM STOP";
    case pg::kStreamCommit:
      return "STREAM COMMIT";
    case pg::kStreamAbort:
      return "STREAM ABORT";
    case pg::kBeginPrepare:
      return "BEGIN PREPARE";
    case pg::kPrepare:
      return "PREPARE";
    case pg::kCommitPrepared:
      return "COMMIT PREPARED";
    case pg::kRollbackPrepared:
      return "ROLLBACK PREPARED";
    case pg::kStreamPrepare:
      return "STREAM PREPARE";
    default:
      return absl::StrFormat("0x%02X", static_cast<uint8_t>(type));
  }
}

}  // namespace walship::agent
