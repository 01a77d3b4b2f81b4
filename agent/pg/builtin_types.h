// Names of PostgreSQL's built-in types, for relation columns whose type OID is below
// FirstNormalObjectId (10000) and for which pgoutput sends no Type ('Y') message, and
// format_type()-style rendering of a type name with its type modifier (for DDL in replay
// and for self-describing events).
//
// Pure functions over constant tables; safe to call from any thread.
#ifndef WALSHIP_AGENT_PG_BUILTIN_TYPES_H_
#define WALSHIP_AGENT_PG_BUILTIN_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace walship::agent {

// pg_type.typname of a built-in type ("int4", "numeric", "_text", "timestamptz"), taken
// from the PostgreSQL 15 catalog; nullopt for OIDs that are not built-in types.
std::optional<std::string> BuiltinTypeName(uint32_t oid);

// What PostgreSQL's format_type(type_oid, typmod) prints for the type named `type_name`
// (a pg_type.typname) with modifier `typmod` (-1: none), for example
//   ("numeric", 655366)   → "numeric(10,2)"
//   ("varchar", 24)       → "character varying(20)"
//   ("timestamptz", 3)    → "timestamp(3) with time zone"
//   ("_int4", -1)         → "integer[]"
//   ("bpchar", -1)        → "bpchar"   (unlike "character", which means character(1))
// Built-in array types ("_x" where x is built in) render as the element type plus "[]";
// the modifier applies to the element, as in PostgreSQL. Names that are not built in are
// returned unchanged (the caller knows their schema and whether they need quoting). One
// deliberate difference: a modifier on a type that takes none is ignored, where
// format_type would print "text(5)". Never fails: an impossible interval modifier
// renders as plain "interval".
std::string FormatTypeWithModifier(absl::string_view type_name, int32_t typmod);

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_PG_BUILTIN_TYPES_H_
