// DDL message parsing (through protobuf's JSON parser into a Struct) and application.
#include "replay/ddl_applier.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/base/log.h"
#include "agent/base/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace walship::replay {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Field(const Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}
std::string Text(const Struct& object, const std::string& name) {
  const Value* value = Field(object, name);
  return value != nullptr && value->has_string_value() ? value->string_value() : "";
}
double Number(const Struct& object, const std::string& name) {
  const Value* value = Field(object, name);
  return value != nullptr && value->kind_case() == Value::kNumberValue ? value->number_value() : 0;
}
bool Flag(const Struct& object, const std::string& name) {
  const Value* value = Field(object, name);
  return value != nullptr && value->kind_case() == Value::kBoolValue && value->bool_value();
}

struct TargetColumn {
  std::string type;
  bool not_null = false;
  std::optional<std::string> default_expr;
};

}  // namespace

absl::StatusOr<DdlMessage> ParseDdlMessage(absl::string_view json) {
  Struct root;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &root);
  if (!status.ok()) {
    return absl::DataLossError(
        absl::StrCat("walship.ddl message is not valid JSON: ", status.message().ToString()));
  }
  DdlMessage message;
  message.tag = Text(root, "tag");
  message.query = Text(root, "query");
  const Value* tables = Field(root, "tables");
  if (tables == nullptr || !tables->has_list_value()) {
    return absl::DataLossError("walship.ddl message has no \"tables\" list");
  }
  for (const Value& t : tables->list_value().values()) {
    if (!t.has_struct_value()) return absl::DataLossError("walship.ddl table is not an object");
    const Struct& object = t.struct_value();
    DdlTable table;
    table.oid = static_cast<uint32_t>(Number(object, "oid"));
    table.schema = Text(object, "schema");
    table.table = Text(object, "table");
    table.dropped = Flag(object, "dropped");
    table.replica_identity = Text(object, "replica_identity");
    if (table.oid == 0 || table.schema.empty() || table.table.empty()) {
      return absl::DataLossError("walship.ddl table lacks oid, schema or table");
    }
    if (const Value* columns = Field(object, "columns"); columns && columns->has_list_value()) {
      for (const Value& c : columns->list_value().values()) {
        if (!c.has_struct_value()) continue;
        const Struct& col = c.struct_value();
        DdlColumn column;
        column.attnum = static_cast<int>(Number(col, "attnum"));
        column.name = Text(col, "name");
        column.type = Text(col, "type");
        column.not_null = Flag(col, "not_null");
        if (const Value* d = Field(col, "default"); d && d->has_string_value()) {
          column.default_expr = d->string_value();
        }
        if (column.name.empty() || column.type.empty()) {
          return absl::DataLossError(absl::StrFormat(
              "walship.ddl column %d of \"%s.%s\" lacks name or type", column.attnum,
              table.schema, table.table));
        }
        table.columns.push_back(std::move(column));
      }
    }
    if (const Value* key = Field(object, "primary_key"); key && key->has_list_value()) {
      for (const Value& k : key->list_value().values()) table.primary_key.push_back(k.string_value());
    }
    message.tables.push_back(std::move(table));
  }
  return message;
}

absl::StatusOr<std::vector<std::string>> DdlApplier::Apply(const DdlMessage& message) {
  std::vector<std::string> changed;
  for (const DdlTable& table : message.tables) {
    WALSHIP_RETURN_IF_ERROR(ApplyTable(table, &changed));
  }
  return changed;
}

absl::Status DdlApplier::ApplyTable(const DdlTable& table, std::vector<std::string>* changed) {
  auto known = names_.find(table.oid);
  std::string schema = known != names_.end() ? known->second.first : table.schema;
  std::string name = known != names_.end() ? known->second.second : table.table;
  std::string what = absl::StrFormat("applying %s to \"%s.%s\"", "DDL", table.schema, table.table);
  WALSHIP_ASSIGN_OR_RETURN(
      pg::QueryResult found,
      conn_->Query("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                   {schema, name}, what));
  std::string quoted = pg::QuoteQualified(schema, name);
  changed->push_back(absl::StrCat(schema, ".", name));
  if (table.dropped) {
    if (!found.rows.empty()) {
      LogInfo("DDL: dropping table \"%s.%s\"", schema, name);
      WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("DROP TABLE ", quoted), what));
    }
    names_.erase(table.oid);
    return absl::OkStatus();
  }
  if (found.rows.empty()) {
    std::vector<std::string> parts;
    for (const DdlColumn& column : table.columns) {
      std::string part = absl::StrCat(pg::QuoteIdent(column.name), " ", column.type);
      if (column.default_expr) absl::StrAppend(&part, " DEFAULT ", *column.default_expr);
      if (column.not_null) absl::StrAppend(&part, " NOT NULL");
      parts.push_back(std::move(part));
    }
    if (!table.primary_key.empty()) {
      std::vector<std::string> keys;
      for (const std::string& key : table.primary_key) keys.push_back(pg::QuoteIdent(key));
      parts.push_back(absl::StrCat("PRIMARY KEY (", absl::StrJoin(keys, ", "), ")"));
    }
    std::string target = pg::QuoteQualified(table.schema, table.table);
    LogInfo("DDL: creating table \"%s.%s\"", table.schema, table.table);
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(
        absl::StrCat("CREATE TABLE ", target, " (", absl::StrJoin(parts, ", "), ")"), what));
    if (table.replica_identity == "f") {
      WALSHIP_RETURN_IF_ERROR(
          conn_->Exec(absl::StrCat("ALTER TABLE ", target, " REPLICA IDENTITY FULL"), what));
    }
  } else {
    // Rename and move first, so the column changes address the table by its new name.
    if (name != table.table) {
      LogInfo("DDL: renaming table \"%s.%s\" to \"%s\"", schema, name, table.table);
      WALSHIP_RETURN_IF_ERROR(conn_->Exec(
          absl::StrCat("ALTER TABLE ", quoted, " RENAME TO ", pg::QuoteIdent(table.table)), what));
      name = table.table;
      quoted = pg::QuoteQualified(schema, name);
    }
    if (schema != table.schema) {
      WALSHIP_RETURN_IF_ERROR(conn_->Exec(
          absl::StrCat("ALTER TABLE ", quoted, " SET SCHEMA ", pg::QuoteIdent(table.schema)), what));
      schema = table.schema;
      quoted = pg::QuoteQualified(schema, name);
    }
    WALSHIP_ASSIGN_OR_RETURN(
        pg::QueryResult columns,
        conn_->Query("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                     "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d "
                     "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = "
                     "$1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                     {quoted}, what));
    std::map<std::string, TargetColumn> current;
    for (const auto& row : columns.rows) {
      current[*row[0]] = TargetColumn{row[1].value_or(""), row[2] == "t", row[3]};
    }
    std::set<std::string> wanted;
    for (const DdlColumn& column : table.columns) {
      // A column renamed at the source keeps its attnum.
      auto previous = column_names_.find({table.oid, column.attnum});
      if (previous != column_names_.end() && previous->second != column.name &&
          current.count(previous->second) && !current.count(column.name)) {
        WALSHIP_RETURN_IF_ERROR(conn_->Exec(
            absl::StrCat("ALTER TABLE ", quoted, " RENAME COLUMN ", pg::QuoteIdent(previous->second),
                         " TO ", pg::QuoteIdent(column.name)),
            what));
        current[column.name] = current[previous->second];
        current.erase(previous->second);
      }
      wanted.insert(column.name);
    }
    for (const auto& [column_name, state] : current) {
      if (wanted.count(column_name)) continue;
      LogInfo("DDL: dropping column \"%s\" of \"%s.%s\"", column_name, schema, name);
      WALSHIP_RETURN_IF_ERROR(conn_->Exec(
          absl::StrCat("ALTER TABLE ", quoted, " DROP COLUMN ", pg::QuoteIdent(column_name)), what));
    }
    for (const DdlColumn& column : table.columns) {
      std::string col = pg::QuoteIdent(column.name);
      auto it = current.find(column.name);
      if (it == current.end()) {
        std::string sql = absl::StrCat("ALTER TABLE ", quoted, " ADD COLUMN ", col, " ", column.type);
        if (column.default_expr) absl::StrAppend(&sql, " DEFAULT ", *column.default_expr);
        if (column.not_null) absl::StrAppend(&sql, " NOT NULL");
        LogInfo("DDL: adding column \"%s\" %s to \"%s.%s\"", column.name, column.type, schema, name);
        WALSHIP_RETURN_IF_ERROR(conn_->Exec(sql, what));
        continue;
      }
      const TargetColumn& have = it->second;
      if (have.type != column.type) {
        WALSHIP_RETURN_IF_ERROR(conn_->Exec(
            absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ", col, " TYPE ", column.type,
                         " USING ", col, "::", column.type),
            what));
      }
      if (have.default_expr != column.default_expr) {
        WALSHIP_RETURN_IF_ERROR(conn_->Exec(
            column.default_expr
                ? absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ", col, " SET DEFAULT ",
                               *column.default_expr)
                : absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ", col, " DROP DEFAULT"),
            what));
      }
      if (have.not_null != column.not_null) {
        WALSHIP_RETURN_IF_ERROR(conn_->Exec(
            absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ", col,
                         column.not_null ? " SET NOT NULL" : " DROP NOT NULL"),
            what));
      }
    }
  }
  names_[table.oid] = {table.schema, table.table};
  for (const DdlColumn& column : table.columns) {
    column_names_[{table.oid, column.attnum}] = column.name;
  }
  changed->push_back(absl::StrCat(table.schema, ".", table.table));
  return absl::OkStatus();
}

}  // namespace walship::replay
