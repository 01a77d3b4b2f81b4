// Wire constants of the pgoutput logical replication protocol, version 2 (PostgreSQL 15),
// with every message's layout counted byte by byte. All integers are big-endian; strings
// are NUL-terminated; LSNs are uint64; timestamps are int64 microseconds since 2000-01-01.
// [xid] marks the int32 (sub)transaction id sent only inside a streamed block (between
// Stream Start and Stream Stop).
// Reference: postgres src/include/replication/logicalproto.h, src/backend/replication/
// logical/proto.c, and "Logical Replication Message Formats" in the PostgreSQL 15 docs.
#ifndef WALSHIP_AGENT_PG_PGOUTPUT_WIRE_H_
#define WALSHIP_AGENT_PG_PGOUTPUT_WIRE_H_

#include <cstddef>
#include <cstdint>

namespace walship::agent::pg {

// Message type bytes (the first byte of every message).
inline constexpr char kBegin = 'B';         // 1 + 8 final_lsn + 8 time + 4 xid = 21
inline constexpr char kCommit = 'C';        // 1 + 1 flags + 8 lsn + 8 end_lsn + 8 time = 26
inline constexpr char kOrigin = 'O';        // 1 + 8 commit_lsn + name\0
inline constexpr char kRelation = 'R';      // 1 + [4] + 4 oid + nsp\0 + rel\0 + 1 ident +
                                            //   2 natts + natts * (1 flags + name\0 +
                                            //   4 type oid + 4 typmod)
inline constexpr char kType = 'Y';          // 1 + [4] + 4 oid + nsp\0 + name\0
inline constexpr char kInsert = 'I';        // 1 + [4] + 4 relid + 1 'N' + TupleData
inline constexpr char kUpdate = 'U';        // 1 + [4] + 4 relid + (1 'K'|'O' + TupleData)?
                                            //   + 1 'N' + TupleData
inline constexpr char kDelete = 'D';        // 1 + [4] + 4 relid + 1 'K'|'O' + TupleData
inline constexpr char kTruncate = 'T';      // 1 + [4] + 4 nrels + 1 options + nrels * 4
inline constexpr char kMessage = 'M';       // 1 + [4] + 1 flags + 8 lsn + prefix\0 +
                                            //   4 length + length bytes
inline constexpr char kStreamStart = 'S';   // 1 + 4 xid + 1 first_segment = 6
inline constexpr char kStreamStop = 'E';    // 1
inline constexpr char kStreamCommit = 'c';  // 1 + 4 xid + 1 flags + 8 lsn + 8 end_lsn +
                                            //   8 time = 30
inline constexpr char kStreamAbort = 'A';   // 1 + 4 xid + 4 subxid = 9 (protocol 2-3)

// Protocol 3 (two-phase) types. Not decoded by walship (we request version 2), but named
// in logs so an unexpected one is recognisable.
inline constexpr char kBeginPrepare = 'b';
inline constexpr char kPrepare = 'P';
inline constexpr char kCommitPrepared = 'K';
inline constexpr char kRollbackPrepared = 'r';
inline constexpr char kStreamPrepare = 'p';

// Fixed sizes, type byte excluded.
inline constexpr size_t kBeginBodySize = 8 + 8 + 4;
inline constexpr size_t kCommitBodySize = 1 + 8 + 8 + 8;
inline constexpr size_t kStreamStartBodySize = 4 + 1;
inline constexpr size_t kStreamCommitBodySize = 4 + 1 + 8 + 8 + 8;
inline constexpr size_t kStreamAbortBodySize = 4 + 4;

// Tuple markers inside Insert/Update/Delete.
inline constexpr char kTupleNew = 'N';
inline constexpr char kTupleOldKey = 'K';
inline constexpr char kTupleOldFull = 'O';

// TupleData: 2 ncols, then per column 1 kind byte, and for 't'/'b' 4 length + bytes.
inline constexpr char kColumnNull = 'n';
inline constexpr char kColumnUnchangedToast = 'u';
inline constexpr char kColumnText = 't';
inline constexpr char kColumnBinary = 'b';

// Commit / Stream Commit flags: none defined; anything but 0 is an error.
inline constexpr uint8_t kCommitFlagsAllowed = 0;
// Relation column flags.
inline constexpr uint8_t kColumnFlagKey = 1;
// Truncate options.
inline constexpr uint8_t kTruncateCascade = 1;
inline constexpr uint8_t kTruncateRestartIdentity = 2;
// Message flags.
inline constexpr uint8_t kMessageTransactional = 1;

// Replica identity bytes of a Relation message (pg_class.relreplident).
inline constexpr char kReplicaIdentityDefault = 'd';
inline constexpr char kReplicaIdentityNothing = 'n';
inline constexpr char kReplicaIdentityFull = 'f';
inline constexpr char kReplicaIdentityIndex = 'i';

// Microseconds from the Unix epoch (1970-01-01) to the PostgreSQL epoch (2000-01-01).
inline constexpr int64_t kPgEpochOffsetUs = 946684800LL * 1000000LL;

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_PGOUTPUT_WIRE_H_
