// A small lexer over pg_dump output: enough SQL to find statement boundaries.
#include "replay/apply/sql_script.h"

#include <cctype>
#include <regex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace walship::replay {
namespace {

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The text of `statement` with comments removed, upper-cased, whitespace collapsed; quoted
// strings kept as they are (for keyword matching only).
std::string Normalize(absl::string_view statement) {
  std::string out;
  bool space = false;
  for (char c : statement) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// The word after "USING INDEX " in a REPLICA IDENTITY statement (unquoted, lower case as
// written), or empty.
std::string ReplicaIndexName(absl::string_view statement) {
  std::string upper = Normalize(statement);
  size_t at = upper.find("REPLICA IDENTITY USING INDEX ");
  if (at == std::string::npos) return "";
  std::string name = upper.substr(at + std::string("REPLICA IDENTITY USING INDEX ").size());
  absl::StripAsciiWhitespace(&name);
  return name;
}

// The (upper-cased) index name of "CREATE UNIQUE INDEX name ON ...", or empty.
std::string UniqueIndexName(const std::string& upper) {
  static constexpr absl::string_view kPrefix = "CREATE UNIQUE INDEX ";
  if (!absl::StartsWith(upper, kPrefix)) return "";
  absl::string_view rest = absl::string_view(upper).substr(kPrefix.size());
  absl::ConsumePrefix(&rest, "IF NOT EXISTS ");
  size_t end = rest.find(' ');
  return std::string(rest.substr(0, end));
}

// Reads one (possibly double-quoted, possibly qualified) name from the front of `text` and
// the space after it; empty if `text` does not start with one.
std::string ConsumeName(absl::string_view* text) {
  size_t i = 0;
  bool quoted = false;
  while (i < text->size()) {
    char c = (*text)[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && (c == ' ' || c == '(')) {
      break;
    }
    ++i;
  }
  std::string name(text->substr(0, i));
  text->remove_prefix(i);
  absl::ConsumePrefix(text, " ");
  return name;
}

}  // namespace

bool IsSessionSetting(absl::string_view statement) {
  std::string upper = Normalize(statement);
  return absl::StartsWith(upper, "SET ") || absl::StartsWith(upper, "SELECT PG_CATALOG.SET_CONFIG");
}

bool IsCreateIndex(absl::string_view statement) {
  std::string upper = Normalize(statement);
  return absl::StartsWith(upper, "CREATE INDEX ") ||
         absl::StartsWith(upper, "CREATE UNIQUE INDEX ");
}

std::string PostDataTable(absl::string_view statement) {
  std::string upper = Normalize(statement);
  absl::string_view rest = upper;
  if (absl::ConsumePrefix(&rest, "ALTER TABLE ")) {
    absl::ConsumePrefix(&rest, "IF EXISTS ");
    absl::ConsumePrefix(&rest, "ONLY ");
    return ConsumeName(&rest);
  }
  if (!absl::ConsumePrefix(&rest, "CREATE INDEX ") &&
      !absl::ConsumePrefix(&rest, "CREATE UNIQUE INDEX ")) {
    return "";
  }
  absl::ConsumePrefix(&rest, "IF NOT EXISTS ");
  if (!absl::StartsWith(rest, "ON ")) ConsumeName(&rest);  // the index name
  if (!absl::ConsumePrefix(&rest, "ON ")) return "";
  absl::ConsumePrefix(&rest, "ONLY ");
  return ConsumeName(&rest);
}

std::optional<KeyIndexBuild> SplitKeyBuild(absl::string_view statement) {
  // A name: bare, or double-quoted with "" for a quote; optionally schema-qualified.
  static const std::regex kKey(
      R"(^ALTER\s+TABLE\s+ONLY\s+((?:"(?:[^"]|"")*"|[^\s."()]+)(?:\.(?:"(?:[^"]|"")*"|[^\s."()]+))?))"
      R"(\s+ADD\s+CONSTRAINT\s+("(?:[^"]|"")*"|[^\s."()]+))"
      R"(\s+(PRIMARY\s+KEY|UNIQUE)\s*\(([^()]*)\)\s*$)");
  std::string text(statement);
  std::smatch match;
  if (!std::regex_match(text, match, kKey)) return std::nullopt;
  std::string table = match[1], name = match[2], kind = match[3], columns = match[4];
  kind = absl::StartsWith(kind, "PRIMARY") ? "PRIMARY KEY" : "UNIQUE";
  return KeyIndexBuild{
      absl::StrCat("CREATE UNIQUE INDEX ", name, " ON ", table, " USING btree (", columns, ")"),
      absl::StrCat("ALTER TABLE ONLY ", table, " ADD CONSTRAINT ", name, " ", kind, " USING INDEX ",
                   name)};
}

std::optional<ForeignKeyCheck> SplitForeignKey(absl::string_view statement) {
  static const std::regex kForeignKey(
      R"(^ALTER\s+TABLE\s+ONLY\s+((?:"(?:[^"]|"")*"|[^\s."()]+)(?:\.(?:"(?:[^"]|"")*"|[^\s."()]+))?))"
      R"(\s+ADD\s+CONSTRAINT\s+("(?:[^"]|"")*"|[^\s."()]+)\s+FOREIGN\s+KEY\s*)"
      R"(\((?:"(?:[^"]|"")*"|[^")])*\)\s*REFERENCES\s+)"
      R"(((?:"(?:[^"]|"")*"|[^\s."()]+)(?:\.(?:"(?:[^"]|"")*"|[^\s."()]+))?)[\s\S]*$)");
  std::string text(absl::StripAsciiWhitespace(statement));
  std::smatch match;
  if (!std::regex_match(text, match, kForeignKey)) return std::nullopt;
  if (absl::EndsWith(Normalize(text), " NOT VALID")) return std::nullopt;
  std::string table = match[1], name = match[2];
  return ForeignKeyCheck{absl::StrCat(text, " NOT VALID"),
                         absl::StrCat("ALTER TABLE ONLY ", table, " VALIDATE CONSTRAINT ", name),
                         table, match[3], name};
}

std::vector<std::string> SplitSqlScript(absl::string_view script) {
  std::vector<std::string> statements;
  std::string current;
  bool has_code = false;  // current holds more than whitespace and comments
  size_t i = 0;
  const size_t n = script.size();
  auto flush = [&] {
    std::string text(absl::StripAsciiWhitespace(current));
    if (has_code && !text.empty()) statements.push_back(std::move(text));
    current.clear();
    has_code = false;
  };
  bool line_start = true;
  while (i < n) {
    char c = script[i];
    // psql meta-commands (pg_dump writes \restrict / \unrestrict) at the start of a line,
    // outside any statement.
    if (line_start && !has_code && c == '\\') {
      size_t eol = script.find('\n', i);
      i = eol == absl::string_view::npos ? n : eol + 1;
      continue;
    }
    line_start = false;
    if (c == '\n') line_start = true;
    if (c == '-' && i + 1 < n && script[i + 1] == '-') {
      size_t eol = script.find('\n', i);
      size_t end = eol == absl::string_view::npos ? n : eol;
      absl::StrAppend(&current, script.substr(i, end - i));
      i = end;
      continue;
    }
    if (c == '/' && i + 1 < n && script[i + 1] == '*') {
      // Block comments nest in PostgreSQL.
      size_t start = i;
      int depth = 0;
      while (i < n) {
        if (script[i] == '/' && i + 1 < n && script[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (script[i] == '*' && i + 1 < n && script[i + 1] == '/') {
          --depth;
          i += 2;
          if (depth == 0) break;
        } else {
          ++i;
        }
      }
      absl::StrAppend(&current, script.substr(start, i - start));
      continue;
    }
    if (c == '\'' || c == '"') {
      // Quoted literal or identifier; a doubled quote stays inside. E'' strings may hold
      // backslash-escaped quotes.
      bool escapes = c == '\'' && i > 0 && (script[i - 1] == 'E' || script[i - 1] == 'e') &&
                     (i < 2 || !IsIdentChar(script[i - 2]));
      size_t start = i++;
      while (i < n) {
        if (escapes && script[i] == '\\') {
          i += 2;
          continue;
        }
        if (script[i] == c) {
          if (i + 1 < n && script[i + 1] == c) {
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        ++i;
      }
      absl::StrAppend(&current, script.substr(start, std::min(i, n) - start));
      has_code = true;
      continue;
    }
    if (c == '$' && (i == 0 || !IsIdentChar(script[i - 1]))) {
      // Dollar quote: $tag$ ... $tag$ (tag empty or an identifier not starting with a digit).
      size_t j = i + 1;
      while (j < n && IsIdentChar(script[j]) && script[j] != '$') ++j;
      bool tag_ok = j < n && script[j] == '$' &&
                    (j == i + 1 || !std::isdigit(static_cast<unsigned char>(script[i + 1])));
      if (tag_ok) {
        absl::string_view tag = script.substr(i, j - i + 1);
        size_t close = script.find(tag, j + 1);
        size_t end = close == absl::string_view::npos ? n : close + tag.size();
        absl::StrAppend(&current, script.substr(i, end - i));
        i = end;
        has_code = true;
        continue;
      }
    }
    if (c == ';') {
      flush();
      ++i;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) has_code = true;
    current.push_back(c);
    ++i;
  }
  flush();
  // Drop leading comment lines from each statement so callers see the code first.
  for (std::string& statement : statements) {
    while (absl::StartsWith(statement, "--")) {
      size_t eol = statement.find('\n');
      if (eol == std::string::npos) break;
      statement = std::string(absl::StripLeadingAsciiWhitespace(statement.substr(eol + 1)));
    }
  }
  return statements;
}

PostDataParts SplitPostData(absl::string_view post_data_sql) {
  std::vector<std::string> statements = SplitSqlScript(post_data_sql);
  std::set<std::string> identity_indexes;
  for (const std::string& statement : statements) {
    std::string name = ReplicaIndexName(statement);
    if (!name.empty()) {
      identity_indexes.insert(name);
      // Also the unqualified name: REPLICA IDENTITY names the index without its schema.
      size_t dot = name.rfind('.');
      if (dot != std::string::npos) identity_indexes.insert(name.substr(dot + 1));
    }
  }
  PostDataParts parts;
  for (std::string& statement : statements) {
    std::string upper = Normalize(statement);
    bool key = false;
    if (absl::StartsWith(upper, "ALTER TABLE ")) {
      key = absl::StrContains(upper, " REPLICA IDENTITY ") ||
            (absl::StrContains(upper, " ADD CONSTRAINT ") &&
             (absl::StrContains(upper, " PRIMARY KEY ") ||
              absl::StrContains(upper, " PRIMARY KEY(") || absl::StrContains(upper, " UNIQUE ") ||
              absl::StrContains(upper, " UNIQUE(")) &&
             !absl::StrContains(upper, " FOREIGN KEY"));
    } else if (absl::StartsWith(upper, "SET ") ||
               absl::StartsWith(upper, "SELECT PG_CATALOG.SET_CONFIG")) {
      // Session settings apply to both parts.
      parts.keys.push_back(statement);
      parts.rest.push_back(std::move(statement));
      continue;
    } else {
      std::string index = UniqueIndexName(upper);
      if (!index.empty()) {
        size_t dot = index.rfind('.');
        key = identity_indexes.count(index) > 0 ||
              (dot != std::string::npos && identity_indexes.count(index.substr(dot + 1)) > 0);
      }
    }
    (key ? parts.keys : parts.rest).push_back(std::move(statement));
  }
  return parts;
}

}  // namespace walship::replay
