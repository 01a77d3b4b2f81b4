// The built-in type table (PostgreSQL 15 pg_type, OIDs below 10000) and format_type()
// rendering of type modifiers (postgres src/backend/utils/adt/format_type.c and the
// *typmodout functions of numeric.c, varchar.c, varbit.c, date.c, timestamp.c).
#include "agent/pg/builtin_types.h"

#include <algorithm>
#include <array>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace walship::agent {
namespace {

struct BuiltinType {
  uint32_t oid;
  const char* name;
};

// Generated from a PostgreSQL 15 server:
//   SELECT oid, typname FROM pg_type WHERE oid < 10000 ORDER BY oid;
// Sorted by OID for binary search.
constexpr BuiltinType kBuiltinTypes[] = {
    {16, "bool"},
    {17, "bytea"},
    {18, "char"},
    {19, "name"},
    {20, "int8"},
    {21, "int2"},
    {22, "int2vector"},
    {23, "int4"},
    {24, "regproc"},
    {25, "text"},
    {26, "oid"},
    {27, "tid"},
    {28, "xid"},
    {29, "cid"},
    {30, "oidvector"},
    {32, "pg_ddl_command"},
    {71, "pg_type"},
    {75, "pg_attribute"},
    {81, "pg_proc"},
    {83, "pg_class"},
    {114, "json"},
    {142, "xml"},
    {143, "_xml"},
    {194, "pg_node_tree"},
    {199, "_json"},
    {210, "_pg_type"},
    {269, "table_am_handler"},
    {270, "_pg_attribute"},
    {271, "_xid8"},
    {272, "_pg_proc"},
    {273, "_pg_class"},
    {325, "index_am_handler"},
    {600, "point"},
    {601, "lseg"},
    {602, "path"},
    {603, "box"},
    {604, "polygon"},
    {628, "line"},
    {629, "_line"},
    {650, "cidr"},
    {651, "_cidr"},
    {700, "float4"},
    {701, "float8"},
    {705, "unknown"},
    {718, "circle"},
    {719, "_circle"},
    {774, "macaddr8"},
    {775, "_macaddr8"},
    {790, "money"},
    {791, "_money"},
    {829, "macaddr"},
    {869, "inet"},
    {1000, "_bool"},
    {1001, "_bytea"},
    {1002, "_char"},
    {1003, "_name"},
    {1005, "_int2"},
    {1006, "_int2vector"},
    {1007, "_int4"},
    {1008, "_regproc"},
    {1009, "_text"},
    {1010, "_tid"},
    {1011, "_xid"},
    {1012, "_cid"},
    {1013, "_oidvector"},
    {1014, "_bpchar"},
    {1015, "_varchar"},
    {1016, "_int8"},
    {1017, "_point"},
    {1018, "_lseg"},
    {1019, "_path"},
    {1020, "_box"},
    {1021, "_float4"},
    {1022, "_float8"},
    {1027, "_polygon"},
    {1028, "_oid"},
    {1033, "aclitem"},
    {1034, "_aclitem"},
    {1040, "_macaddr"},
    {1041, "_inet"},
    {1042, "bpchar"},
    {1043, "varchar"},
    {1082, "date"},
    {1083, "time"},
    {1114, "timestamp"},
    {1115, "_timestamp"},
    {1182, "_date"},
    {1183, "_time"},
    {1184, "timestamptz"},
    {1185, "_timestamptz"},
    {1186, "interval"},
    {1187, "_interval"},
    {1231, "_numeric"},
    {1248, "pg_database"},
    {1263, "_cstring"},
    {1266, "timetz"},
    {1270, "_timetz"},
    {1560, "bit"},
    {1561, "_bit"},
    {1562, "varbit"},
    {1563, "_varbit"},
    {1700, "numeric"},
    {1790, "refcursor"},
    {2201, "_refcursor"},
    {2202, "regprocedure"},
    {2203, "regoper"},
    {2204, "regoperator"},
    {2205, "regclass"},
    {2206, "regtype"},
    {2207, "_regprocedure"},
    {2208, "_regoper"},
    {2209, "_regoperator"},
    {2210, "_regclass"},
    {2211, "_regtype"},
    {2249, "record"},
    {2275, "cstring"},
    {2276, "any"},
    {2277, "anyarray"},
    {2278, "void"},
    {2279, "trigger"},
    {2280, "language_handler"},
    {2281, "internal"},
    {2283, "anyelement"},
    {2287, "_record"},
    {2776, "anynonarray"},
    {2842, "pg_authid"},
    {2843, "pg_auth_members"},
    {2949, "_txid_snapshot"},
    {2950, "uuid"},
    {2951, "_uuid"},
    {2970, "txid_snapshot"},
    {3115, "fdw_handler"},
    {3220, "pg_lsn"},
    {3221, "_pg_lsn"},
    {3310, "tsm_handler"},
    {3361, "pg_ndistinct"},
    {3402, "pg_dependencies"},
    {3500, "anyenum"},
    {3614, "tsvector"},
    {3615, "tsquery"},
    {3642, "gtsvector"},
    {3643, "_tsvector"},
    {3644, "_gtsvector"},
    {3645, "_tsquery"},
    {3734, "regconfig"},
    {3735, "_regconfig"},
    {3769, "regdictionary"},
    {3770, "_regdictionary"},
    {3802, "jsonb"},
    {3807, "_jsonb"},
    {3831, "anyrange"},
    {3838, "event_trigger"},
    {3904, "int4range"},
    {3905, "_int4range"},
    {3906, "numrange"},
    {3907, "_numrange"},
    {3908, "tsrange"},
    {3909, "_tsrange"},
    {3910, "tstzrange"},
    {3911, "_tstzrange"},
    {3912, "daterange"},
    {3913, "_daterange"},
    {3926, "int8range"},
    {3927, "_int8range"},
    {4066, "pg_shseclabel"},
    {4072, "jsonpath"},
    {4073, "_jsonpath"},
    {4089, "regnamespace"},
    {4090, "_regnamespace"},
    {4096, "regrole"},
    {4097, "_regrole"},
    {4191, "regcollation"},
    {4192, "_regcollation"},
    {4451, "int4multirange"},
    {4532, "nummultirange"},
    {4533, "tsmultirange"},
    {4534, "tstzmultirange"},
    {4535, "datemultirange"},
    {4536, "int8multirange"},
    {4537, "anymultirange"},
    {4538, "anycompatiblemultirange"},
    {4600, "pg_brin_bloom_summary"},
    {4601, "pg_brin_minmax_multi_summary"},
    {5017, "pg_mcv_list"},
    {5038, "pg_snapshot"},
    {5039, "_pg_snapshot"},
    {5069, "xid8"},
    {5077, "anycompatible"},
    {5078, "anycompatiblearray"},
    {5079, "anycompatiblenonarray"},
    {5080, "anycompatiblerange"},
    {6101, "pg_subscription"},
    {6150, "_int4multirange"},
    {6151, "_nummultirange"},
    {6152, "_tsmultirange"},
    {6153, "_tstzmultirange"},
    {6155, "_datemultirange"},
    {6157, "_int8multirange"},
};

constexpr bool IsSortedByOid() {
  for (size_t i = 1; i < std::size(kBuiltinTypes); ++i) {
    if (kBuiltinTypes[i - 1].oid >= kBuiltinTypes[i].oid) return false;
  }
  return true;
}
static_assert(IsSortedByOid(), "kBuiltinTypes must be sorted by OID for binary search");

bool IsBuiltinTypeName(absl::string_view name) {
  return std::any_of(std::begin(kBuiltinTypes), std::end(kBuiltinTypes),
                     [name](const BuiltinType& type) { return name == type.name; });
}

constexpr int32_t kVarHeaderSize = 4;  // VARHDRSZ, added to character lengths

// numerictypmodout: "(precision,scale)"; the scale may be negative since PostgreSQL 15.
std::string NumericModifier(int32_t typmod) {
  if (typmod < kVarHeaderSize) return "";
  const int32_t packed = typmod - kVarHeaderSize;
  const int32_t precision = (packed >> 16) & 0xFFFF;
  const int32_t scale = ((packed & 0x7FF) ^ 1024) - 1024;
  return absl::StrFormat("(%d,%d)", precision, scale);
}

// varchartypmodout / bpchartypmodout: the length excludes the header.
std::string LengthModifier(int32_t typmod) {
  if (typmod <= kVarHeaderSize) return "";
  return absl::StrFormat("(%d)", typmod - kVarHeaderSize);
}

// intervaltypmodout: range mask in bits 16..30, precision in bits 0..15. The masks are
// 1 << the datetime.h field numbers (MONTH 1, YEAR 2, DAY 3, HOUR 10, MINUTE 11, SECOND 12).
std::string IntervalModifier(int32_t typmod) {
  constexpr int32_t kYear = 1 << 2, kMonth = 1 << 1, kDay = 1 << 3;
  constexpr int32_t kHour = 1 << 10, kMinute = 1 << 11, kSecond = 1 << 12;
  constexpr int32_t kFullRange = 0x7FFF, kFullPrecision = 0xFFFF;
  const int32_t range = (typmod >> 16) & 0x7FFF;
  const int32_t precision = typmod & 0xFFFF;
  const char* fields = nullptr;
  switch (range) {
    case kYear: fields = " year"; break;
    case kMonth: fields = " month"; break;
    case kDay: fields = " day"; break;
    case kHour: fields = " hour"; break;
    case kMinute: fields = " minute"; break;
    case kSecond: fields = " second"; break;
    case kYear | kMonth: fields = " year to month"; break;
    case kDay | kHour: fields = " day to hour"; break;
    case kDay | kHour | kMinute: fields = " day to minute"; break;
    case kDay | kHour | kMinute | kSecond: fields = " day to second"; break;
    case kHour | kMinute: fields = " hour to minute"; break;
    case kHour | kMinute | kSecond: fields = " hour to second"; break;
    case kMinute | kSecond: fields = " minute to second"; break;
    case kFullRange: fields = ""; break;
    default: return "";  // PostgreSQL raises an error here; we never fail.
  }
  if (precision == kFullPrecision) return fields;
  return absl::StrFormat("%s(%d)", fields, precision);
}

// time, timetz, timestamp, timestamptz: "name(p) with[out] time zone".
std::string DateTimeName(absl::string_view base, absl::string_view zone, int32_t typmod) {
  if (typmod < 0) return absl::StrCat(base, zone);
  return absl::StrFormat("%s(%d)%s", base, typmod, zone);
}

// format_type for a non-array type; `typmod` < 0 means none.
std::string FormatElement(absl::string_view name, int32_t typmod) {
  const bool with_typmod = typmod >= 0;
  if (name == "bit") {
    // Plain BIT means bit(1), so an unmodified bit is quoted to keep its meaning.
    return with_typmod ? absl::StrFormat("bit(%d)", typmod) : "\"bit\"";
  }
  if (name == "bpchar") {
    // Likewise CHARACTER means character(1); unmodified bpchar stays "bpchar".
    return with_typmod ? absl::StrCat("character", LengthModifier(typmod)) : "bpchar";
  }
  if (name == "varbit") {
    return with_typmod ? absl::StrFormat("bit varying(%d)", typmod) : "bit varying";
  }
  if (name == "varchar") {
    return with_typmod ? absl::StrCat("character varying", LengthModifier(typmod))
                       : "character varying";
  }
  if (name == "numeric") {
    return with_typmod ? absl::StrCat("numeric", NumericModifier(typmod)) : "numeric";
  }
  if (name == "interval") {
    return with_typmod ? absl::StrCat("interval", IntervalModifier(typmod)) : "interval";
  }
  if (name == "time") return DateTimeName("time", " without time zone", typmod);
  if (name == "timetz") return DateTimeName("time", " with time zone", typmod);
  if (name == "timestamp") return DateTimeName("timestamp", " without time zone", typmod);
  if (name == "timestamptz") return DateTimeName("timestamp", " with time zone", typmod);
  if (name == "bool") return "boolean";
  if (name == "float4") return "real";
  if (name == "float8") return "double precision";
  if (name == "int2") return "smallint";
  if (name == "int4") return "integer";
  if (name == "int8") return "bigint";
  // Type names that are SQL keywords are quoted, as quote_identifier does.
  if (name == "char") return "\"char\"";
  if (name == "any") return "\"any\"";
  return std::string(name);
}

}  // namespace

std::optional<std::string> BuiltinTypeName(uint32_t oid) {
  const auto* it = std::lower_bound(
      std::begin(kBuiltinTypes), std::end(kBuiltinTypes), oid,
      [](const BuiltinType& type, uint32_t value) { return type.oid < value; });
  if (it == std::end(kBuiltinTypes) || it->oid != oid) return std::nullopt;
  return std::string(it->name);
}

std::string FormatTypeWithModifier(absl::string_view type_name, int32_t typmod) {
  if (type_name.size() > 1 && type_name[0] == '_' && IsBuiltinTypeName(type_name)) {
    const absl::string_view element = type_name.substr(1);
    if (IsBuiltinTypeName(element)) {
      return absl::StrCat(FormatElement(element, typmod), "[]");
    }
  }
  if (!IsBuiltinTypeName(type_name)) return std::string(type_name);
  return FormatElement(type_name, typmod);
}

}  // namespace walship::agent
