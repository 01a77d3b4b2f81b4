// Decoded pgoutput (logical replication protocol, versions 1-2) messages. Pure data: the
// decoder fills them, the stream assembler consumes them.
// Reference: PostgreSQL "Logical Replication Message Formats", src/backend/replication/
// logical/proto.c.
#ifndef WALSHIP_AGENT_PG_PGOUTPUT_MESSAGES_H_
#define WALSHIP_AGENT_PG_PGOUTPUT_MESSAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proto/core/lsn.h"

namespace walship::agent {

// One column of a TupleData: 'n' null, 'u' unchanged TOAST, 't' text, 'b' binary.
struct TupleValue {
  enum class Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't', kBinary = 'b' };
  Kind kind = Kind::kNull;
  std::string data;  // for kText / kBinary
};
using Tuple = std::vector<TupleValue>;

struct BeginMessage {
  Lsn final_lsn;            // LSN of the commit record
  int64_t commit_time_us;   // microseconds since the Unix epoch (converted from PG epoch)
  Xid xid;
};
struct CommitMessage {
  uint8_t flags;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time_us;
};
struct OriginMessage {
  Lsn commit_lsn;
  std::string name;
};
struct RelationColumn {
  bool key;  // flags & 1
  std::string name;
  uint32_t type_oid;
  int32_t type_modifier;
};
struct RelationMessage {
  std::optional<Xid> xid;  // set inside a streamed block
  RelationOid oid;
  std::string schema;  // "" means pg_catalog, as the protocol says
  std::string table;
  char replica_identity;  // 'd', 'n', 'f', 'i'
  std::vector<RelationColumn> columns;
};
struct TypeMessage {
  std::optional<Xid> xid;
  uint32_t oid;
  std::string schema;
  std::string name;
};
struct InsertMessage {
  std::optional<Xid> xid;
  RelationOid relation;
  Tuple new_tuple;
};
struct UpdateMessage {
  std::optional<Xid> xid;
  RelationOid relation;
  // 'K' (old key) or 'O' (old full row) when sent; absent otherwise.
  std::optional<char> old_kind;
  Tuple old_tuple;
  Tuple new_tuple;
};
struct DeleteMessage {
  std::optional<Xid> xid;
  RelationOid relation;
  char old_kind;  // 'K' or 'O'
  Tuple old_tuple;
};
struct TruncateMessage {
  std::optional<Xid> xid;
  bool cascade;           // option bit 1
  bool restart_identity;  // option bit 2
  std::vector<RelationOid> relations;
};
struct LogicalMessage {
  std::optional<Xid> xid;
  bool transactional;
  Lsn lsn;
  std::string prefix;
  std::string content;
};
struct StreamStartMessage {
  Xid xid;
  bool first_segment;
};
struct StreamStopMessage {};
struct StreamCommitMessage {
  Xid xid;
  uint8_t flags;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time_us;
};
struct StreamAbortMessage {
  Xid xid;
  Xid subxid;
};

using PgOutputMessage =
    std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage, TypeMessage,
                 InsertMessage, UpdateMessage, DeleteMessage, TruncateMessage, LogicalMessage,
                 StreamStartMessage, StreamStopMessage, StreamCommitMessage,
                 StreamAbortMessage>;

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_PG_PGOUTPUT_MESSAGES_H_
