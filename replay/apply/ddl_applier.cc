// DDL message parsing (through protobuf's JSON parser into a Struct) and application.
#include "replay/apply/ddl_applier.h"

#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
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

// The leading keywords of a statement, upper-cased; comments and whitespace skipped.
std::vector<std::string> LeadingWords(absl::string_view text, size_t limit) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size() && words.size() < limit) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == '(') {
      ++i;
    } else if (absl::StartsWith(text.substr(i), "--")) {
      size_t end = text.find('\n', i);
      i = end == absl::string_view::npos ? text.size() : end + 1;
    } else if (absl::StartsWith(text.substr(i), "/*")) {
      size_t end = text.find("*/", i + 2);
      i = end == absl::string_view::npos ? text.size() : end + 2;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                                 text[i] == '_')) {
        ++i;
      }
      words.push_back(absl::AsciiStrToUpper(text.substr(start, i - start)));
    } else {
      break;  // a quoted name or punctuation: the keywords are over
    }
  }
  return words;
}

bool IsCreateModifier(const std::string& word) {
  static const std::set<std::string> kModifiers = {
      "OR",     "REPLACE",    "UNIQUE",  "TEMP",    "TEMPORARY", "UNLOGGED", "GLOBAL",
      "LOCAL",  "CONSTRAINT", "TRUSTED", "PROCEDURAL", "DEFAULT", "RECURSIVE"};
  return kModifiers.count(word) > 0;
}


}  // namespace

std::string StatementTag(absl::string_view statement) {
  std::vector<std::string> words = LeadingWords(statement, 8);
  if (words.empty()) return "";
  std::vector<std::string> tag = {words[0]};
  size_t i = 1;
  if (words[0] == "CREATE") {
    while (i < words.size() && IsCreateModifier(words[i])) ++i;
  }
  static const std::set<std::string> kTwoWordObjects = {
      "MATERIALIZED", "FOREIGN", "EVENT", "TEXT", "ACCESS", "USER", "DEFAULT"};
  if (words[0] == "CREATE" || words[0] == "ALTER" || words[0] == "DROP") {
    if (i < words.size()) tag.push_back(words[i++]);
    if (tag.size() == 2 && kTwoWordObjects.count(tag[1]) && i < words.size()) {
      tag.push_back(words[i++]);
      if ((tag[1] == "FOREIGN" && tag[2] == "DATA") || (tag[1] == "TEXT" && tag[2] == "SEARCH")) {
        if (i < words.size()) tag.push_back(words[i++]);
      }
    }
    if (words[0] == "CREATE" && tag.size() == 2 && tag[1] == "OPERATOR" && i < words.size() &&
        (words[i] == "CLASS" || words[i] == "FAMILY")) {
      tag.push_back(words[i]);
    }
  } else if (words[0] == "IMPORT" || words[0] == "SECURITY" || words[0] == "REFRESH") {
    for (size_t k = 1; k < words.size() && k < (words[0] == "SECURITY" ? 2u : 3u); ++k) {
      tag.push_back(words[k]);
    }
  }
  return absl::StrJoin(tag, " ");
}

bool StatementHasTag(absl::string_view statement, absl::string_view tag) {
  std::string own = StatementTag(statement);
  if (own == tag) return true;
  if (tag == "CREATE TABLE AS") return own == "CREATE TABLE";
  if (tag == "SELECT INTO") return own == "SELECT";
  if (tag == "ALTER DEFAULT PRIVILEGES") return own == "ALTER DEFAULT PRIVILEGES";
  return false;
}

std::string RunnableInTransaction(absl::string_view statement) {
  std::vector<std::string> words = LeadingWords(statement, 6);
  bool index_command =
      (words.size() >= 2 && words[0] == "CREATE" &&
       (words[1] == "INDEX" || (words[1] == "UNIQUE" && words.size() >= 3 && words[2] == "INDEX"))) ||
      (words.size() >= 2 && words[0] == "DROP" && words[1] == "INDEX") ||
      (!words.empty() && words[0] == "REINDEX");
  bool detach = words.size() >= 2 && words[0] == "ALTER" && words[1] == "TABLE" &&
                absl::StrContains(absl::AsciiStrToUpper(statement), "DETACH PARTITION");
  if (!index_command && !detach) return std::string(statement);
  // Drop the keyword CONCURRENTLY where it stands as a word outside quotes.
  std::string out;
  size_t i = 0;
  bool in_quote = false;
  char quote = 0;
  while (i < statement.size()) {
    char c = statement[i];
    if (in_quote) {
      out.push_back(c);
      if (c == quote) in_quote = false;
      ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      in_quote = true;
      quote = c;
      out.push_back(c);
      ++i;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i;
      while (i < statement.size() && (std::isalnum(static_cast<unsigned char>(statement[i])) ||
                                      statement[i] == '_')) {
        ++i;
      }
      absl::string_view word = statement.substr(start, i - start);
      if (absl::EqualsIgnoreCase(word, "CONCURRENTLY")) {
        while (i < statement.size() && std::isspace(static_cast<unsigned char>(statement[i]))) ++i;
        continue;
      }
      out.append(word.data(), word.size());
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

absl::StatusOr<DdlMessage> ParseDdlMessage(absl::string_view json) {
  Struct root;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &root);
  if (!status.ok()) {
    return absl::DataLossError(
        absl::StrCat("walship.ddl message is not valid JSON: ", status.message().ToString()));
  }
  DdlMessage message;
  message.format = static_cast<int>(Number(root, "format"));
  if (message.format == 0) message.format = 1;
  message.tag = Text(root, "tag");
  message.query = Text(root, "query");
  message.search_path = Text(root, "search_path");
  const Value* tables = Field(root, "tables");
  if (tables == nullptr || !tables->has_list_value()) {
    return absl::DataLossError("walship.ddl message has no \"tables\" list");
  }
  for (const Value& t : tables->list_value().values()) {
    if (!t.has_struct_value()) return absl::DataLossError("walship.ddl table is not an object");
    const Struct& object = t.struct_value();
    DdlTable table;
    table.oid = RelationOid(static_cast<uint32_t>(Number(object, "oid")));
    table.schema = Text(object, "schema");
    table.table = Text(object, "table");
    table.dropped = Flag(object, "dropped");
    table.replica_identity = Text(object, "replica_identity");
    if (!table.oid.valid() || table.schema.empty() || table.table.empty()) {
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
        column.generated = Text(col, "generated");
        column.identity = Text(col, "identity");
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
    WALSHIP_RETURN_IF_ERROR(ApplyTable(table, message, &changed));
  }
  return changed;
}

std::vector<std::string> DdlApplier::Remember(const DdlMessage& message) {
  std::vector<std::string> changed;
  for (const DdlTable& table : message.tables) {
    auto known = names_.find(table.oid);
    if (known != names_.end()) {
      changed.push_back(absl::StrCat(known->second.first, ".", known->second.second));
    }
    changed.push_back(absl::StrCat(table.schema, ".", table.table));
    if (table.dropped) {
      names_.erase(table.oid);
    } else {
      RememberTable(table);
    }
  }
  return changed;
}

void DdlApplier::RememberTable(const DdlTable& table) {
  names_[table.oid] = {table.schema, table.table};
  for (const DdlColumn& column : table.columns) {
    column_names_[{table.oid, column.attnum}] = column.name;
  }
}

std::string DdlApplier::ColumnDefinition(const DdlColumn& column) const {
  std::string part = absl::StrCat(agent::pg::QuoteIdent(column.name), " ", column.type);
  if (column.generated == "s" && column.default_expr) {
    absl::StrAppend(&part, " GENERATED ALWAYS AS (", *column.default_expr, ") STORED");
  } else if (column.identity == "a" || column.identity == "d") {
    absl::StrAppend(&part, column.identity == "a" ? " GENERATED ALWAYS" : " GENERATED BY DEFAULT",
                    " AS IDENTITY");
  } else if (column.default_expr) {
    absl::StrAppend(&part, " DEFAULT ", *column.default_expr);
  }
  if (column.not_null) absl::StrAppend(&part, " NOT NULL");
  return part;
}

absl::Status DdlApplier::CreateMissingSequence(const DdlColumn& column, const std::string& what) {
  if (!column.default_expr || !column.generated.empty() || !column.identity.empty()) {
    return absl::OkStatus();
  }
  // pg_get_expr writes "nextval('schema.name'::regclass)" (search_path = pg_catalog).
  const std::string& expr = *column.default_expr;
  const std::string kPrefix = "nextval('";
  size_t at = expr.find(kPrefix);
  if (at == std::string::npos) return absl::OkStatus();
  size_t end = expr.find("'::regclass)", at);
  if (end == std::string::npos) return absl::OkStatus();
  std::string name = expr.substr(at + kPrefix.size(), end - at - kPrefix.size());
  name = absl::StrReplaceAll(name, {{"''", "'"}});
  WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> exists,
                           conn_->QueryValue("SELECT to_regclass($1) IS NOT NULL", {name}, what));
  if (exists && *exists == "t") return absl::OkStatus();
  LogInfo("DDL: creating sequence %s for column \"%s\"", name, column.name);
  return conn_->Exec(absl::StrCat("CREATE SEQUENCE ", name), what);
}

absl::Status DdlApplier::ApplyTable(const DdlTable& table, const DdlMessage& message,
                                    std::vector<std::string>* changed) {
  auto known = names_.find(table.oid);
  TargetTable target;
  target.schema = known != names_.end() ? known->second.first : table.schema;
  target.name = known != names_.end() ? known->second.second : table.table;
  target.what = absl::StrFormat("applying %s to \"%s.%s\"", "DDL", table.schema, table.table);
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult found,
      conn_->Query("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                   {target.schema, target.name}, target.what));
  target.quoted = agent::pg::QuoteQualified(target.schema, target.name);
  changed->push_back(absl::StrCat(target.schema, ".", target.name));
  if (table.dropped) {
    if (!found.rows.empty()) {
      LogInfo("DDL: dropping table \"%s.%s\"", target.schema, target.name);
      WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("DROP TABLE ", target.quoted), target.what));
    }
    names_.erase(table.oid);
    return absl::OkStatus();
  }
  if (found.rows.empty()) {
    WALSHIP_RETURN_IF_ERROR(CreateTable(table, target.what));
  } else {
    WALSHIP_RETURN_IF_ERROR(AlterTable(table, message, &target));
  }
  RememberTable(table);
  changed->push_back(absl::StrCat(table.schema, ".", table.table));
  return absl::OkStatus();
}

absl::Status DdlApplier::CreateTable(const DdlTable& table, const std::string& what) {
  std::vector<std::string> parts;
  for (const DdlColumn& column : table.columns) {
    WALSHIP_RETURN_IF_ERROR(CreateMissingSequence(column, what));
    parts.push_back(ColumnDefinition(column));
  }
  if (!table.primary_key.empty()) {
    std::vector<std::string> keys;
    for (const std::string& key : table.primary_key) keys.push_back(agent::pg::QuoteIdent(key));
    parts.push_back(absl::StrCat("PRIMARY KEY (", absl::StrJoin(keys, ", "), ")"));
  }
  std::string target = agent::pg::QuoteQualified(table.schema, table.table);
  LogInfo("DDL: creating table \"%s.%s\"", table.schema, table.table);
  WALSHIP_RETURN_IF_ERROR(conn_->Exec(
      absl::StrCat("CREATE TABLE ", target, " (", absl::StrJoin(parts, ", "), ")"), what));
  if (table.replica_identity == "f") {
    WALSHIP_RETURN_IF_ERROR(
        conn_->Exec(absl::StrCat("ALTER TABLE ", target, " REPLICA IDENTITY FULL"), what));
  }
  return absl::OkStatus();
}

absl::Status DdlApplier::AlterTable(const DdlTable& table, const DdlMessage& message,
                                    TargetTable* target) {
  const std::string& what = target->what;
  // Rename and move first, so the column changes address the table by its new name.
  if (target->name != table.table) {
    LogInfo("DDL: renaming table \"%s.%s\" to \"%s\"", target->schema, target->name,
            table.table);
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(
        absl::StrCat("ALTER TABLE ", target->quoted, " RENAME TO ", agent::pg::QuoteIdent(table.table)),
        what));
    target->name = table.table;
    target->quoted = agent::pg::QuoteQualified(target->schema, target->name);
  }
  if (target->schema != table.schema) {
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("ALTER TABLE ", target->quoted,
                                                     " SET SCHEMA ", agent::pg::QuoteIdent(table.schema)),
                                        what));
    target->schema = table.schema;
    target->quoted = agent::pg::QuoteQualified(target->schema, target->name);
  }
  WALSHIP_ASSIGN_OR_RETURN(
      agent::pg::QueryResult columns,
      conn_->Query("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                   "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d "
                   "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = "
                   "$1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                   {target->quoted}, what));
  for (const auto& row : columns.rows) {
    target->columns[*row[0]] = TargetColumn{row[1].value_or(""), row[2] == "t", row[3]};
    target->column_order.push_back(*row[0]);
  }
  WALSHIP_RETURN_IF_ERROR(RenameColumns(table, message, target));
  std::set<std::string> wanted;
  for (const DdlColumn& column : table.columns) wanted.insert(column.name);
  for (const std::string& column_name : target->column_order) {
    if (wanted.count(column_name) || !target->columns.count(column_name)) continue;
    LogInfo("DDL: dropping column \"%s\" of \"%s.%s\"", column_name, target->schema,
            target->name);
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("ALTER TABLE ", target->quoted,
                                                     " DROP COLUMN ", agent::pg::QuoteIdent(column_name)),
                                        what));
  }
  for (const DdlColumn& column : table.columns) {
    WALSHIP_RETURN_IF_ERROR(AlterColumn(column, *target));
  }
  return absl::OkStatus();
}

absl::Status DdlApplier::RenameColumn(const std::string& from, const std::string& to,
                                      TargetTable* target) {
  LogInfo("DDL: renaming column \"%s\" of \"%s.%s\" to \"%s\"", from, target->schema,
          target->name, to);
  WALSHIP_RETURN_IF_ERROR(
      conn_->Exec(absl::StrCat("ALTER TABLE ", target->quoted, " RENAME COLUMN ",
                               agent::pg::QuoteIdent(from), " TO ", agent::pg::QuoteIdent(to)),
                  target->what));
  target->columns[to] = target->columns[from];
  target->columns.erase(from);
  for (std::string& c : target->column_order) {
    if (c == from) c = to;
  }
  return absl::OkStatus();
}

absl::Status DdlApplier::RenameColumns(const DdlTable& table, const DdlMessage& message,
                                       TargetTable* target) {
  std::map<std::string, TargetColumn>& current = target->columns;
  std::set<std::string> wanted;
  for (const DdlColumn& column : table.columns) {
    // A column renamed at the source keeps its attnum.
    auto previous = column_names_.find({table.oid, column.attnum});
    if (previous != column_names_.end() && previous->second != column.name &&
        current.count(previous->second) && !current.count(column.name)) {
      WALSHIP_RETURN_IF_ERROR(RenameColumn(previous->second, column.name, target));
    }
    wanted.insert(column.name);
  }
  // No earlier description of this table (its first change since the base): a RENAME
  // COLUMN shows as one column gone and one new one at the same place with the same type.
  if (column_names_.count({table.oid, table.columns.empty() ? 0 : table.columns[0].attnum}) ||
      !absl::StrContains(absl::AsciiStrToUpper(message.query), "RENAME")) {
    return absl::OkStatus();
  }
  std::vector<std::string> gone;
  std::vector<const DdlColumn*> added;
  for (const std::string& c : target->column_order) {
    if (!wanted.count(c)) gone.push_back(c);
  }
  for (const DdlColumn& column : table.columns) {
    if (!current.count(column.name)) added.push_back(&column);
  }
  if (gone.size() != 1 || added.size() != 1 || current[gone[0]].type != added[0]->type) {
    return absl::OkStatus();
  }
  size_t gone_at = 0, added_at = 0;
  for (size_t i = 0; i < target->column_order.size(); ++i) {
    if (target->column_order[i] == gone[0]) gone_at = i;
  }
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (&table.columns[i] == added[0]) added_at = i;
  }
  if (gone_at == added_at) return RenameColumn(gone[0], added[0]->name, target);
  return absl::OkStatus();
}

absl::Status DdlApplier::AlterColumn(const DdlColumn& column, const TargetTable& target) {
  const std::string& what = target.what;
  const std::string& quoted = target.quoted;
  std::string col = agent::pg::QuoteIdent(column.name);
  auto it = target.columns.find(column.name);
  if (it == target.columns.end()) {
    WALSHIP_RETURN_IF_ERROR(CreateMissingSequence(column, what));
    std::string sql =
        absl::StrCat("ALTER TABLE ", quoted, " ADD COLUMN ", ColumnDefinition(column));
    LogInfo("DDL: adding column \"%s\" %s to \"%s.%s\"", column.name, column.type,
            target.schema, target.name);
    return conn_->Exec(sql, what);
  }
  const TargetColumn& have = it->second;
  if (have.type != column.type) {
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ",
                                                     col, " TYPE ", column.type, " USING ", col,
                                                     "::", column.type),
                                        what));
  }
  // Identity and generated columns keep what the target has: their expression is not a
  // default to set.
  if (column.generated.empty() && column.identity.empty() &&
      have.default_expr != column.default_expr) {
    if (column.default_expr) WALSHIP_RETURN_IF_ERROR(CreateMissingSequence(column, what));
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(
        column.default_expr
            ? absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ", col, " SET DEFAULT ",
                           *column.default_expr)
            : absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ", col, " DROP DEFAULT"),
        what));
  }
  if (have.not_null != column.not_null) {
    WALSHIP_RETURN_IF_ERROR(conn_->Exec(absl::StrCat("ALTER TABLE ", quoted, " ALTER COLUMN ",
                                                     col,
                                                     column.not_null ? " SET NOT NULL"
                                                                     : " DROP NOT NULL"),
                                        what));
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
