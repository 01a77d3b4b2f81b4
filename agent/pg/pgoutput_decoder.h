// Decodes one pgoutput message (the payload of an XLogData 'w' message) into a
// PgOutputMessage. Pure: no I/O, no state except whether we are inside a streamed block
// (in which changes carry the xid of their (sub)transaction).
#ifndef WALSHIP_AGENT_PG_PGOUTPUT_DECODER_H_
#define WALSHIP_AGENT_PG_PGOUTPUT_DECODER_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "agent/pg/pgoutput_messages.h"

namespace walship::agent {

class PgOutputDecoder {
 public:
  // Short input, unknown message types, unknown flags or tuple kinds → kDataLoss naming
  // the message type and byte offset. The decoder tracks Stream Start/Stop itself.
  absl::StatusOr<PgOutputMessage> Decode(absl::string_view data);

  bool in_stream() const { return in_stream_; }

 private:
  bool in_stream_ = false;
};

// A name for a message type byte, never fails (for logs): 'B' → "BEGIN", '?' → "0x3F".
std::string PgOutputMessageTypeName(char type);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_PG_PGOUTPUT_DECODER_H_
