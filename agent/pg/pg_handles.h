// Owners for libpq's C handles.
#ifndef WALSHIP_AGENT_PG_PG_HANDLES_H_
#define WALSHIP_AGENT_PG_PG_HANDLES_H_

#include <libpq-fe.h>

#include <memory>

namespace walship::agent::pg {

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
struct PgFreememDeleter {
  void operator()(void* p) const { PQfreemem(p); }
};

using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;
using PgBufferPtr = std::unique_ptr<char, PgFreememDeleter>;

}  // namespace walship::agent::pg

#endif  // WALSHIP_AGENT_PG_PG_HANDLES_H_
