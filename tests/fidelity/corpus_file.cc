// Corpus file parsing and schema dump normalisation.
#include "tests/fidelity/corpus_file.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace walship::testing {

absl::StatusOr<CorpusFamily> ParseCorpusFile(absl::string_view name, absl::string_view text) {
  CorpusFamily family;
  family.name = std::string(name);
  enum class Section { kHeader, kSetup, kStep } section = Section::kHeader;
  bool seen_setup = false;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  for (absl::string_view line : lines) {
    absl::string_view trimmed = absl::StripTrailingAsciiWhitespace(line);
    if (trimmed == "-- @setup") {
      if (seen_setup) return absl::InvalidArgumentError(absl::StrCat(name, ": two @setup lines"));
      seen_setup = true;
      section = Section::kSetup;
      continue;
    }
    if (absl::ConsumePrefix(&trimmed, "-- @step")) {
      if (!seen_setup) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": a @step before the @setup"));
      }
      std::string step_name(absl::StripAsciiWhitespace(trimmed));
      if (step_name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": a @step without a name"));
      }
      family.steps.push_back({step_name, ""});
      section = Section::kStep;
      continue;
    }
    switch (section) {
      case Section::kHeader:
        if (absl::StartsWith(trimmed, "--")) {
          if (family.summary.empty()) {
            family.summary = std::string(absl::StripAsciiWhitespace(trimmed.substr(2)));
          }
        } else if (!absl::StripAsciiWhitespace(trimmed).empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(name, ": SQL before the @setup line: ", trimmed));
        }
        break;
      case Section::kSetup:
        absl::StrAppend(&family.setup, line, "\n");
        break;
      case Section::kStep:
        absl::StrAppend(&family.steps.back().sql, line, "\n");
        break;
    }
  }
  if (!seen_setup) return absl::InvalidArgumentError(absl::StrCat(name, ": no @setup line"));
  if (family.steps.empty()) return absl::InvalidArgumentError(absl::StrCat(name, ": no @step"));
  return family;
}

std::string ComparableSchema(absl::string_view dump) {
  std::vector<std::string> kept;
  // pg_dump writes each object as a "-- Name: ...; Type: ...; Schema: ...; Owner: ..."
  // comment followed by its statements; an object of walship's is skipped whole.
  bool skipping = false;
  for (absl::string_view line : absl::StrSplit(dump, '\n')) {
    if (absl::StartsWith(line, "-- Name: ") || absl::StartsWith(line, "-- Data for Name: ")) {
      skipping = absl::StrContains(line, "; Schema: walship;") ||
                 absl::StartsWith(line, "-- Name: walship; Type: SCHEMA;") ||
                 absl::StartsWith(line, "-- Name: SCHEMA walship; Type: ACL;") ||
                 absl::StrContains(line, "Type: EVENT TRIGGER;") ||
                 absl::StrContains(line, "Type: PUBLICATION");
      continue;
    }
    // Session settings are written where pg_dump first needs them, which depends on what
    // came before (walship's own objects): they describe no object.
    if (absl::StartsWith(line, "SET ") ||
        absl::StartsWith(line, "SELECT pg_catalog.set_config(")) {
      continue;
    }
    if (absl::StartsWith(line, "--") || absl::StartsWith(line, "\\restrict") ||
        absl::StartsWith(line, "\\unrestrict") || absl::StripAsciiWhitespace(line).empty()) {
      continue;
    }
    if (!skipping) kept.emplace_back(line);
  }
  return absl::StrJoin(kept, "\n");
}

std::string FirstDifferentLine(absl::string_view expected, absl::string_view actual) {
  std::vector<absl::string_view> want = absl::StrSplit(expected, '\n');
  std::vector<absl::string_view> have = absl::StrSplit(actual, '\n');
  for (size_t i = 0; i < std::max(want.size(), have.size()); ++i) {
    absl::string_view w = i < want.size() ? want[i] : "<end>";
    absl::string_view h = i < have.size() ? have[i] : "<end>";
    if (w == h) continue;
    std::string context;
    for (size_t k = i >= 3 ? i - 3 : 0; k < i; ++k) absl::StrAppend(&context, "    ", want[k], "\n");
    return absl::StrFormat("line %d:\n%s  expected: %s\n  actual:   %s", i + 1, context, w, h);
  }
  return "";
}

}  // namespace walship::testing
