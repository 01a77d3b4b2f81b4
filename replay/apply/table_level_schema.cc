// Table-level schema: pg_dump statements filtered to the chosen tables and moved.
#include "replay/apply/table_level_schema.h"

#include <cctype>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "replay/apply/sql_script.h"

namespace walship::replay {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '"' ||
         (static_cast<unsigned char>(c) >= 0x80);
}

// Where `name` stands as a whole qualified name in `text` from `from` on; npos if nowhere.
size_t FindName(absl::string_view text, absl::string_view name, size_t from = 0) {
  while (true) {
    size_t at = text.find(name, from);
    if (at == absl::string_view::npos) return at;
    bool starts = at == 0 || (!IsNameChar(text[at - 1]) && text[at - 1] != '.');
    size_t end = at + name.size();
    bool ends = end >= text.size() || !IsNameChar(text[end]);
    if (starts && ends) return at;
    from = at + 1;
  }
}

// "X" of "<prefix>X<suffix>" in a statement, or "".
std::string Between(absl::string_view statement, absl::string_view prefix,
                    absl::string_view suffix) {
  size_t at = statement.find(prefix);
  if (at == absl::string_view::npos) return "";
  at += prefix.size();
  size_t end = statement.find(suffix, at);
  if (end == absl::string_view::npos) end = statement.size();
  return std::string(statement.substr(at, end - at));
}

}  // namespace

std::string ReplaceQualifiedNames(absl::string_view statement,
                                  const std::vector<std::pair<std::string, std::string>>& renames) {
  std::string out(statement);
  for (const auto& [from, to] : renames) {
    size_t at = 0;
    while ((at = FindName(out, from, at)) != std::string::npos) {
      out.replace(at, from.size(), to);
      at += to.size();
    }
  }
  return out;
}

TableLevelSchema BuildTableLevelSchema(absl::string_view pre_data_sql,
                                       absl::string_view post_data_sql,
                                       const std::vector<QualifiedName>& chosen,
                                       const std::vector<QualifiedName>& all_tables,
                                       const std::string& into_schema,
                                       const std::function<std::string(const std::string&)>& quote) {
  auto qualified = [&](const QualifiedName& name) {
    return absl::StrCat(quote(name.schema), ".", quote(name.table));
  };
  std::string into = quote(into_schema);
  std::vector<std::pair<std::string, std::string>> renames;
  std::set<std::string> chosen_names;
  for (const QualifiedName& name : chosen) {
    renames.push_back({qualified(name), absl::StrCat(into, ".", quote(name.table))});
    chosen_names.insert(qualified(name));
  }
  std::vector<std::string> others;
  for (const QualifiedName& name : all_tables) {
    if (!chosen_names.count(qualified(name))) others.push_back(qualified(name));
  }
  std::vector<std::string> pre = SplitSqlScript(pre_data_sql);
  auto mentions_chosen = [&](absl::string_view statement) {
    for (const auto& [from, to] : renames) {
      if (FindName(statement, from) != absl::string_view::npos) return true;
    }
    return false;
  };
  auto mentions_other = [&](absl::string_view statement) {
    for (const std::string& other : others) {
      if (FindName(statement, other) != absl::string_view::npos) return true;
    }
    return false;
  };
  // The sequences the chosen tables own (serial: OWNED BY; identity: SEQUENCE NAME) move
  // with them.
  auto move_sequence = [&](const std::string& sequence) {
    size_t dot = sequence.rfind('.');
    if (sequence.empty() || dot == std::string::npos) return;
    renames.push_back({sequence, absl::StrCat(into, sequence.substr(dot))});
  };
  for (const std::string& statement : pre) {
    if (!mentions_chosen(statement)) continue;
    if (absl::StartsWith(statement, "ALTER SEQUENCE ") &&
        absl::StrContains(statement, " OWNED BY ")) {
      move_sequence(Between(statement, "ALTER SEQUENCE ", " OWNED BY "));
    }
    if (absl::StrContains(statement, "SEQUENCE NAME ")) {
      std::string sequence = Between(statement, "SEQUENCE NAME ", "\n");
      while (!sequence.empty() && (sequence.back() == ' ' || sequence.back() == ',')) {
        sequence.pop_back();
      }
      move_sequence(sequence);
    }
  }
  TableLevelSchema schema;
  // Only statements that define a table or what it owns: a function or view whose body
  // names a chosen table belongs to the live schema, not to the copy.
  auto defines_table = [](absl::string_view statement) {
    for (absl::string_view kind :
         {"CREATE TABLE ", "CREATE UNLOGGED TABLE ", "CREATE SEQUENCE ", "ALTER SEQUENCE ",
          "ALTER TABLE ", "COMMENT ON ", "CREATE INDEX ", "CREATE UNIQUE INDEX ",
          "CREATE TRIGGER ", "CREATE CONSTRAINT TRIGGER ", "CREATE RULE ", "CREATE POLICY ",
          "SECURITY LABEL "}) {
      if (absl::StartsWith(statement, kind)) return true;
    }
    return false;
  };
  auto take = [&](const std::string& statement, std::vector<std::string>* into_list) {
    if (IsSessionSetting(statement) || !defines_table(statement) || !mentions_chosen(statement)) {
      return;
    }
    if (mentions_other(statement)) {
      schema.skipped.push_back(statement);
      return;
    }
    into_list->push_back(ReplaceQualifiedNames(statement, renames));
  };
  for (const std::string& statement : pre) take(statement, &schema.create);
  PostDataParts post = SplitPostData(post_data_sql);
  for (const std::string& statement : post.keys) take(statement, &schema.keys);
  for (const std::string& statement : post.rest) take(statement, &schema.rest);
  return schema;
}

}  // namespace walship::replay
