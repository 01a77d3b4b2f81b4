// Tests for the built-in type table and format_type() rendering. Every expected string
// below was printed by a PostgreSQL 15 server (format_type(oid, typmod)), so a difference
// is a bug in our copy of format_type, not a matter of taste.
#include "agent/pg/builtin_types.h"

#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::agent {
namespace {

struct CatalogRow {
  uint32_t oid;
  const char* typname;
  const char* formatted;  // format_type(oid, -1)
};

// SELECT oid, typname, format_type(oid, -1) FROM pg_type WHERE oid < 10000 ORDER BY oid;
constexpr CatalogRow kCatalog[] = {
    {16, "bool", "boolean"},
    {17, "bytea", "bytea"},
    {18, "char", "\"char\""},
    {19, "name", "name"},
    {20, "int8", "bigint"},
    {21, "int2", "smallint"},
    {22, "int2vector", "int2vector"},
    {23, "int4", "integer"},
    {24, "regproc", "regproc"},
    {25, "text", "text"},
    {26, "oid", "oid"},
    {27, "tid", "tid"},
    {28, "xid", "xid"},
    {29, "cid", "cid"},
    {30, "oidvector", "oidvector"},
    {32, "pg_ddl_command", "pg_ddl_command"},
    {71, "pg_type", "pg_type"},
    {75, "pg_attribute", "pg_attribute"},
    {81, "pg_proc", "pg_proc"},
    {83, "pg_class", "pg_class"},
    {114, "json", "json"},
    {142, "xml", "xml"},
    {143, "_xml", "xml[]"},
    {194, "pg_node_tree", "pg_node_tree"},
    {199, "_json", "json[]"},
    {210, "_pg_type", "pg_type[]"},
    {269, "table_am_handler", "table_am_handler"},
    {270, "_pg_attribute", "pg_attribute[]"},
    {271, "_xid8", "xid8[]"},
    {272, "_pg_proc", "pg_proc[]"},
    {273, "_pg_class", "pg_class[]"},
    {325, "index_am_handler", "index_am_handler"},
    {600, "point", "point"},
    {601, "lseg", "lseg"},
    {602, "path", "path"},
    {603, "box", "box"},
    {604, "polygon", "polygon"},
    {628, "line", "line"},
    {629, "_line", "line[]"},
    {650, "cidr", "cidr"},
    {651, "_cidr", "cidr[]"},
    {700, "float4", "real"},
    {701, "float8", "double precision"},
    {705, "unknown", "unknown"},
    {718, "circle", "circle"},
    {719, "_circle", "circle[]"},
    {774, "macaddr8", "macaddr8"},
    {775, "_macaddr8", "macaddr8[]"},
    {790, "money", "money"},
    {791, "_money", "money[]"},
    {829, "macaddr", "macaddr"},
    {869, "inet", "inet"},
    {1000, "_bool", "boolean[]"},
    {1001, "_bytea", "bytea[]"},
    {1002, "_char", "\"char\"[]"},
    {1003, "_name", "name[]"},
    {1005, "_int2", "smallint[]"},
    {1006, "_int2vector", "int2vector[]"},
    {1007, "_int4", "integer[]"},
    {1008, "_regproc", "regproc[]"},
    {1009, "_text", "text[]"},
    {1010, "_tid", "tid[]"},
    {1011, "_xid", "xid[]"},
    {1012, "_cid", "cid[]"},
    {1013, "_oidvector", "oidvector[]"},
    {1014, "_bpchar", "bpchar[]"},
    {1015, "_varchar", "character varying[]"},
    {1016, "_int8", "bigint[]"},
    {1017, "_point", "point[]"},
    {1018, "_lseg", "lseg[]"},
    {1019, "_path", "path[]"},
    {1020, "_box", "box[]"},
    {1021, "_float4", "real[]"},
    {1022, "_float8", "double precision[]"},
    {1027, "_polygon", "polygon[]"},
    {1028, "_oid", "oid[]"},
    {1033, "aclitem", "aclitem"},
    {1034, "_aclitem", "aclitem[]"},
    {1040, "_macaddr", "macaddr[]"},
    {1041, "_inet", "inet[]"},
    {1042, "bpchar", "bpchar"},
    {1043, "varchar", "character varying"},
    {1082, "date", "date"},
    {1083, "time", "time without time zone"},
    {1114, "timestamp", "timestamp without time zone"},
    {1115, "_timestamp", "timestamp without time zone[]"},
    {1182, "_date", "date[]"},
    {1183, "_time", "time without time zone[]"},
    {1184, "timestamptz", "timestamp with time zone"},
    {1185, "_timestamptz", "timestamp with time zone[]"},
    {1186, "interval", "interval"},
    {1187, "_interval", "interval[]"},
    {1231, "_numeric", "numeric[]"},
    {1248, "pg_database", "pg_database"},
    {1263, "_cstring", "cstring[]"},
    {1266, "timetz", "time with time zone"},
    {1270, "_timetz", "time with time zone[]"},
    {1560, "bit", "\"bit\""},
    {1561, "_bit", "\"bit\"[]"},
    {1562, "varbit", "bit varying"},
    {1563, "_varbit", "bit varying[]"},
    {1700, "numeric", "numeric"},
    {1790, "refcursor", "refcursor"},
    {2201, "_refcursor", "refcursor[]"},
    {2202, "regprocedure", "regprocedure"},
    {2203, "regoper", "regoper"},
    {2204, "regoperator", "regoperator"},
    {2205, "regclass", "regclass"},
    {2206, "regtype", "regtype"},
    {2207, "_regprocedure", "regprocedure[]"},
    {2208, "_regoper", "regoper[]"},
    {2209, "_regoperator", "regoperator[]"},
    {2210, "_regclass", "regclass[]"},
    {2211, "_regtype", "regtype[]"},
    {2249, "record", "record"},
    {2275, "cstring", "cstring"},
    {2276, "any", "\"any\""},
    {2277, "anyarray", "anyarray"},
    {2278, "void", "void"},
    {2279, "trigger", "trigger"},
    {2280, "language_handler", "language_handler"},
    {2281, "internal", "internal"},
    {2283, "anyelement", "anyelement"},
    {2287, "_record", "record[]"},
    {2776, "anynonarray", "anynonarray"},
    {2842, "pg_authid", "pg_authid"},
    {2843, "pg_auth_members", "pg_auth_members"},
    {2949, "_txid_snapshot", "txid_snapshot[]"},
    {2950, "uuid", "uuid"},
    {2951, "_uuid", "uuid[]"},
    {2970, "txid_snapshot", "txid_snapshot"},
    {3115, "fdw_handler", "fdw_handler"},
    {3220, "pg_lsn", "pg_lsn"},
    {3221, "_pg_lsn", "pg_lsn[]"},
    {3310, "tsm_handler", "tsm_handler"},
    {3361, "pg_ndistinct", "pg_ndistinct"},
    {3402, "pg_dependencies", "pg_dependencies"},
    {3500, "anyenum", "anyenum"},
    {3614, "tsvector", "tsvector"},
    {3615, "tsquery", "tsquery"},
    {3642, "gtsvector", "gtsvector"},
    {3643, "_tsvector", "tsvector[]"},
    {3644, "_gtsvector", "gtsvector[]"},
    {3645, "_tsquery", "tsquery[]"},
    {3734, "regconfig", "regconfig"},
    {3735, "_regconfig", "regconfig[]"},
    {3769, "regdictionary", "regdictionary"},
    {3770, "_regdictionary", "regdictionary[]"},
    {3802, "jsonb", "jsonb"},
    {3807, "_jsonb", "jsonb[]"},
    {3831, "anyrange", "anyrange"},
    {3838, "event_trigger", "event_trigger"},
    {3904, "int4range", "int4range"},
    {3905, "_int4range", "int4range[]"},
    {3906, "numrange", "numrange"},
    {3907, "_numrange", "numrange[]"},
    {3908, "tsrange", "tsrange"},
    {3909, "_tsrange", "tsrange[]"},
    {3910, "tstzrange", "tstzrange"},
    {3911, "_tstzrange", "tstzrange[]"},
    {3912, "daterange", "daterange"},
    {3913, "_daterange", "daterange[]"},
    {3926, "int8range", "int8range"},
    {3927, "_int8range", "int8range[]"},
    {4066, "pg_shseclabel", "pg_shseclabel"},
    {4072, "jsonpath", "jsonpath"},
    {4073, "_jsonpath", "jsonpath[]"},
    {4089, "regnamespace", "regnamespace"},
    {4090, "_regnamespace", "regnamespace[]"},
    {4096, "regrole", "regrole"},
    {4097, "_regrole", "regrole[]"},
    {4191, "regcollation", "regcollation"},
    {4192, "_regcollation", "regcollation[]"},
    {4451, "int4multirange", "int4multirange"},
    {4532, "nummultirange", "nummultirange"},
    {4533, "tsmultirange", "tsmultirange"},
    {4534, "tstzmultirange", "tstzmultirange"},
    {4535, "datemultirange", "datemultirange"},
    {4536, "int8multirange", "int8multirange"},
    {4537, "anymultirange", "anymultirange"},
    {4538, "anycompatiblemultirange", "anycompatiblemultirange"},
    {4600, "pg_brin_bloom_summary", "pg_brin_bloom_summary"},
    {4601, "pg_brin_minmax_multi_summary", "pg_brin_minmax_multi_summary"},
    {5017, "pg_mcv_list", "pg_mcv_list"},
    {5038, "pg_snapshot", "pg_snapshot"},
    {5039, "_pg_snapshot", "pg_snapshot[]"},
    {5069, "xid8", "xid8"},
    {5077, "anycompatible", "anycompatible"},
    {5078, "anycompatiblearray", "anycompatiblearray"},
    {5079, "anycompatiblenonarray", "anycompatiblenonarray"},
    {5080, "anycompatiblerange", "anycompatiblerange"},
    {6101, "pg_subscription", "pg_subscription"},
    {6150, "_int4multirange", "int4multirange[]"},
    {6151, "_nummultirange", "nummultirange[]"},
    {6152, "_tsmultirange", "tsmultirange[]"},
    {6153, "_tstzmultirange", "tstzmultirange[]"},
    {6155, "_datemultirange", "datemultirange[]"},
    {6157, "_int8multirange", "int8multirange[]"},
};

struct ModifierCase {
  const char* typname;
  int32_t typmod;
  const char* formatted;  // format_type(oid, typmod)
};

// Column types declared in a table (atttypmod as the server computed it) plus explicit
// typmods, including every interval field range with and without a precision.
constexpr ModifierCase kModifierCases[] = {
    {"numeric", 655366, "numeric(10,2)"},
    {"numeric", 327684, "numeric(5,0)"},
    {"numeric", -1, "numeric"},
    {"numeric", 460802, "numeric(7,-2)"},
    {"varchar", 24, "character varying(20)"},
    {"varchar", -1, "character varying"},
    {"bpchar", 7, "character(3)"},
    {"bpchar", 5, "character(1)"},
    {"bpchar", -1, "bpchar"},
    {"bit", 8, "bit(8)"},
    {"bit", 1, "bit(1)"},
    {"varbit", 16, "bit varying(16)"},
    {"varbit", -1, "bit varying"},
    {"timestamp", 3, "timestamp(3) without time zone"},
    {"timestamp", -1, "timestamp without time zone"},
    {"timestamptz", 0, "timestamp(0) with time zone"},
    {"timestamptz", -1, "timestamp with time zone"},
    {"time", 6, "time(6) without time zone"},
    {"time", -1, "time without time zone"},
    {"timetz", 2, "time(2) with time zone"},
    {"timetz", -1, "time with time zone"},
    {"interval", 2147418115, "interval(3)"},
    {"interval", -1, "interval"},
    {"interval", 470286338, "interval day to second(2)"},
    {"interval", 458751, "interval year to month"},
    {"interval", 67174399, "interval hour"},
    {"_int4", -1, "integer[]"},
    {"_varchar", 14, "character varying(10)[]"},
    {"_numeric", 262149, "numeric(4,1)[]"},
    {"_timestamptz", 3, "timestamp(3) with time zone[]"},
    {"char", -1, "\"char\""},
    {"_char", -1, "\"char\"[]"},
    {"_text", -1, "text[]"},
    {"name", -1, "name"},
    {"interval", 402718719, "interval minute to second"},
    {"interval", 268435460, "interval second(4)"},
    {"_bpchar", 5, "character(1)[]"},
    {"_int2", -1, "smallint[]"},
    {"bool", -1, "boolean"},
    {"float8", -1, "double precision"},
    {"_float4", -1, "real[]"},
    {"interval", 589823, "interval day"},
    {"bpchar", 4, "character"},
    {"bpchar", 0, "character"},
    {"varchar", 4, "character varying"},
    {"varchar", 5, "character varying(1)"},
    {"numeric", 3, "numeric"},
    {"numeric", 4, "numeric(0,0)"},
    {"int4", 5, "integer"},
    {"bit", 0, "bit(0)"},
    {"varbit", 0, "bit varying(0)"},
    {"time", 0, "time(0) without time zone"},
    {"_interval", 2147418115, "interval(3)[]"},
    {"interval", 2147483647, "interval"},
    {"_varbit", 7, "bit varying(7)[]"},
    {"_bit", -1, "\"bit\"[]"},
    {"_bpchar", -1, "bpchar[]"},
    {"_bpchar", 9, "character(5)[]"},
    {"_numeric", -1, "numeric[]"},
    {"_timetz", 6, "time(6) with time zone[]"},
    {"_char", -1, "\"char\"[]"},
    {"any", -1, "\"any\""},
    {"_int4", -1, "integer[]"},
    {"numeric", 65537004, "numeric(1000,1000)"},
    {"timestamptz", 6, "timestamp(6) with time zone"},
    {"interval", 327679, "interval year"},
    {"interval", 262144, "interval year(0)"},
    {"interval", 262150, "interval year(6)"},
    {"interval", 196607, "interval month"},
    {"interval", 131072, "interval month(0)"},
    {"interval", 131078, "interval month(6)"},
    {"interval", 589823, "interval day"},
    {"interval", 524288, "interval day(0)"},
    {"interval", 524294, "interval day(6)"},
    {"interval", 67174399, "interval hour"},
    {"interval", 67108864, "interval hour(0)"},
    {"interval", 67108870, "interval hour(6)"},
    {"interval", 134283263, "interval minute"},
    {"interval", 134217728, "interval minute(0)"},
    {"interval", 134217734, "interval minute(6)"},
    {"interval", 268500991, "interval second"},
    {"interval", 268435456, "interval second(0)"},
    {"interval", 268435462, "interval second(6)"},
    {"interval", 458751, "interval year to month"},
    {"interval", 393216, "interval year to month(0)"},
    {"interval", 393222, "interval year to month(6)"},
    {"interval", 67698687, "interval day to hour"},
    {"interval", 67633152, "interval day to hour(0)"},
    {"interval", 67633158, "interval day to hour(6)"},
    {"interval", 201916415, "interval day to minute"},
    {"interval", 201850880, "interval day to minute(0)"},
    {"interval", 201850886, "interval day to minute(6)"},
    {"interval", 470351871, "interval day to second"},
    {"interval", 470286336, "interval day to second(0)"},
    {"interval", 470286342, "interval day to second(6)"},
    {"interval", 201392127, "interval hour to minute"},
    {"interval", 201326592, "interval hour to minute(0)"},
    {"interval", 201326598, "interval hour to minute(6)"},
    {"interval", 469827583, "interval hour to second"},
    {"interval", 469762048, "interval hour to second(0)"},
    {"interval", 469762054, "interval hour to second(6)"},
    {"interval", 402718719, "interval minute to second"},
    {"interval", 402653184, "interval minute to second(0)"},
    {"interval", 402653190, "interval minute to second(6)"},
    {"interval", 2147483647, "interval"},
    {"interval", 2147418112, "interval(0)"},
    {"interval", 2147418118, "interval(6)"},
};

TEST(BuiltinTypeName, MatchesEveryCatalogRow) {
  for (const CatalogRow& row : kCatalog) {
    EXPECT_EQ(BuiltinTypeName(row.oid), std::optional<std::string>(row.typname))
        << "oid " << row.oid;
  }
}

TEST(BuiltinTypeName, KnowsCommonTypes) {
  EXPECT_EQ(BuiltinTypeName(23), "int4");
  EXPECT_EQ(BuiltinTypeName(1700), "numeric");
  EXPECT_EQ(BuiltinTypeName(1009), "_text");
  EXPECT_EQ(BuiltinTypeName(1184), "timestamptz");
  EXPECT_EQ(BuiltinTypeName(3802), "jsonb");
  EXPECT_EQ(BuiltinTypeName(2950), "uuid");
}

TEST(BuiltinTypeName, ReturnsNulloptForUnknownOids) {
  EXPECT_EQ(BuiltinTypeName(0), std::nullopt);
  EXPECT_EQ(BuiltinTypeName(15), std::nullopt);  // just below the first type, bool (16)
  EXPECT_EQ(BuiltinTypeName(31), std::nullopt);  // a gap between oidvector and pg_ddl_command
  EXPECT_EQ(BuiltinTypeName(9999), std::nullopt);
  EXPECT_EQ(BuiltinTypeName(16390), std::nullopt);  // a user type
  EXPECT_EQ(BuiltinTypeName(UINT32_MAX), std::nullopt);
}

TEST(FormatTypeWithModifier, MatchesFormatTypeWithoutModifierForEveryBuiltin) {
  for (const CatalogRow& row : kCatalog) {
    EXPECT_EQ(FormatTypeWithModifier(row.typname, -1), row.formatted)
        << "typname " << row.typname;
  }
}

TEST(FormatTypeWithModifier, MatchesFormatTypeWithModifiers) {
  for (const ModifierCase& c : kModifierCases) {
    EXPECT_EQ(FormatTypeWithModifier(c.typname, c.typmod), c.formatted)
        << "typname " << c.typname << " typmod " << c.typmod;
  }
}

TEST(FormatTypeWithModifier, IgnoresModifierOnTypesWithoutOne) {
  // format_type prints "text(5)" here; such DDL would not parse, so we keep the name.
  EXPECT_EQ(FormatTypeWithModifier("text", 5), "text");
  EXPECT_EQ(FormatTypeWithModifier("int4range", 3), "int4range");
  EXPECT_EQ(FormatTypeWithModifier("int4", 5), "integer");
}

TEST(FormatTypeWithModifier, NeverFailsOnImpossibleIntervalModifiers) {
  // format_type raises "invalid INTERVAL typmod" for these.
  EXPECT_EQ(FormatTypeWithModifier("interval", 12345), "interval");
  EXPECT_EQ(FormatTypeWithModifier("interval", 0x7FFEFFFF), "interval");
  EXPECT_EQ(FormatTypeWithModifier("_interval", 0x00030000), "interval[]");
}

TEST(FormatTypeWithModifier, ReturnsUnknownNamesUnchanged) {
  EXPECT_EQ(FormatTypeWithModifier("mood", -1), "mood");
  EXPECT_EQ(FormatTypeWithModifier("_mood", -1), "_mood");
  EXPECT_EQ(FormatTypeWithModifier("_", -1), "_");
  EXPECT_EQ(FormatTypeWithModifier("", 4), "");
}

}  // namespace
}  // namespace walship::agent
