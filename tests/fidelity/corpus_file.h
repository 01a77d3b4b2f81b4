// A fidelity corpus file (tests/fidelity/corpus/README.md): a setup section the base
// snapshot holds, then steps run while the agent streams; and the schema dump as the
// corpus compares it.
#ifndef WALSHIP_TESTS_FIDELITY_CORPUS_FILE_H_
#define WALSHIP_TESTS_FIDELITY_CORPUS_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace walship::testing {

struct CorpusStep {
  std::string name;
  std::string sql;
};

struct CorpusFamily {
  std::string name;     // the file's stem
  std::string summary;  // its first comment line
  std::string setup;
  std::vector<CorpusStep> steps;
};

// Splits a corpus file at its "-- @setup" and "-- @step NAME" lines. kInvalidArgument when
// the setup or every step is missing, a step has no name, or text precedes the setup.
absl::StatusOr<CorpusFamily> ParseCorpusFile(absl::string_view name, absl::string_view text);

// `pg_dump --schema-only` output as the corpus compares it: walship's own objects (schema
// "walship", its functions and event triggers) and the publication left out, comments,
// privileges (ACL), blank lines, session settings (SET) and psql's \restrict / \unrestrict lines (a random key each run) dropped.
std::string ComparableSchema(absl::string_view dump);

// The first line where two texts differ, with a little context; "" when equal.
std::string FirstDifferentLine(absl::string_view expected, absl::string_view actual);

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_FIDELITY_CORPUS_FILE_H_
