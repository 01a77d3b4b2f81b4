// Status propagation helpers. Debian's Abseil (20220623) ships none of its own.
#ifndef WALSHIP_PROTO_CORE_STATUS_MACROS_H_
#define WALSHIP_PROTO_CORE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

// Returns from the current function when `expr` (an absl::Status) is not OK.
#define WALSHIP_RETURN_IF_ERROR(expr)                    \
  do {                                                   \
    ::absl::Status walship_status_ = (expr);             \
    if (!walship_status_.ok()) return walship_status_;   \
  } while (0)

#define WALSHIP_STATUS_CONCAT_INNER_(a, b) a##b
#define WALSHIP_STATUS_CONCAT_(a, b) WALSHIP_STATUS_CONCAT_INNER_(a, b)

// `WALSHIP_ASSIGN_OR_RETURN(auto x, StatusOrExpr());` declares or assigns `x`, or returns
// the error.
#define WALSHIP_ASSIGN_OR_RETURN(lhs, expr)                                                 \
  WALSHIP_ASSIGN_OR_RETURN_IMPL_(WALSHIP_STATUS_CONCAT_(walship_statusor_, __LINE__), lhs, \
                                 expr)
#define WALSHIP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

namespace walship {

// Returns `status` with `context: ` put before its message, keeping its code.
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace walship

#endif  // WALSHIP_PROTO_CORE_STATUS_MACROS_H_
