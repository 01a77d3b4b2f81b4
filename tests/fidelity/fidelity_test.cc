// The fidelity corpus: each family (tests/fidelity/corpus/<family>.sql) runs its setup, then
// the agent takes a base and streams while the steps run. After every step the source's rows
// (`row::text`) and schema (`pg_dump --schema-only`, walship's own objects left out) are
// captured; a restore to that step's LSN onto an empty database, through the folded path and
// through the statement path (--fold-memory-mb 0), must give the same rows and the same
// schema. A table-level restore (--tables ... --into-schema) into a copy of the source must
// give each chosen table's rows and definition.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/core/status_macros.h"
#include "tests/fidelity/corpus_file.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

constexpr char kPublication[] = "fidelity_pub";
constexpr char kSlot[] = "walship";

// The type and domain statements of a comparable schema, joined.
std::string TypeDefinitions(const std::string& schema);

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(WALSHIP_FIDELITY_CORPUS_DIR, ec)) {
    if (entry.path().extension() == ".sql") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  // Sanitizer builds run a representative part: every WALSHIP_FIDELITY_EVERY-th family.
  std::vector<std::string> chosen;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i % WALSHIP_FIDELITY_EVERY == 0) chosen.push_back(names[i]);
  }
  return chosen;
}

struct Checkpoint {
  std::string step;
  Lsn lsn;
  TableRows rows;
  std::string schema;
};

class FidelityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::ifstream in(absl::StrCat(WALSHIP_FIDELITY_CORPUS_DIR, "/", GetParam(), ".sql"));
    std::stringstream text;
    text << in.rdbuf();
    ASSERT_OK_AND_ASSIGN(family_, ParseCorpusFile(GetParam(), text.str()));
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("src"));
    store_ = MakeTempDir("fidelity-store");
    work_ = MakeTempDir("fidelity-work");
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(store_);
      std::filesystem::remove_all(work_);
    } else {
      std::cerr << "kept for inspection: store " << store_ << ", work " << work_ << "\n";
    }
  }

  absl::StatusOr<std::string> Schema(const std::string& db) {
    WALSHIP_ASSIGN_OR_RETURN(std::string dump, DumpSchema(*pg_, db));
    return ComparableSchema(dump);
  }

  // Setup, base, steps; fills checkpoints_ and stops the agent cleanly.
  void RunFamily() {
    ASSERT_THAT(pg_->Psql("src", family_.setup), IsOk()) << "setup of " << family_.name;
    ASSERT_OK_AND_ASSIGN(
        std::string has_pub,
        pg_->Query("src", absl::StrCat("SELECT count(*) FROM pg_publication WHERE pubname = '",
                                       kPublication, "'")));
    if (has_pub == "0") {
      ASSERT_OK(pg_->Psql("src", absl::StrCat("CREATE PUBLICATION ", kPublication,
                                              " FOR ALL TABLES"))
                    .status());
    }
    ASSERT_OK_AND_ASSIGN(std::string schema_at_setup, Schema("src"));
    types_at_setup_ = TypeDefinitions(schema_at_setup);
    ASSERT_OK_AND_ASSIGN(TableRows at_setup, CaptureTables(*pg_, "src"));
    // Table-level candidates: plain tables (no partitions, no inheritance), a few per family.
    ASSERT_OK_AND_ASSIGN(
        std::string plain,
        pg_->Psql("src",
                  "SELECT format('%I.%I', n.nspname, c.relname) || E'\\t' || n.nspname || '.' "
                  "|| c.relname || E'\\t' || quote_ident(n.nspname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname NOT IN "
                  "('pg_catalog', 'information_schema', 'walship') AND n.nspname NOT LIKE "
                  "'pg\\_%' AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = "
                  "c.oid OR i.inhparent = c.oid) ORDER BY 1 LIMIT 4"));
    for (absl::string_view line : absl::StrSplit(plain, '\n', absl::SkipEmpty())) {
      std::vector<std::string> parts = absl::StrSplit(line, '\t');
      ASSERT_EQ(parts.size(), 3u) << line;
      ASSERT_OK_AND_ASSIGN(std::string dump, DumpTableSchema(*pg_, "src", parts[0]));
      candidates_.push_back({parts[0], parts[1], parts[2], ComparableSchema(dump)});
    }

    std::string log = work_ + "/agent.log";
    ASSERT_OK_AND_ASSIGN(
        auto agent, StartAgent({"--source", pg_->ConnInfo("src"), "--create", "--slot", kSlot,
                                "--publication", kPublication, "--object-store", "file://" + store_,
                                "--work-dir", work_, "--segment-max-ms", "50"},
                               log));
    ASSERT_THAT(WaitForBase(store_, absl::Seconds(120)), IsOk()) << ReadFile(log);
    for (const CorpusStep& step : family_.steps) {
      ASSERT_THAT(pg_->Psql("src", step.sql), IsOk()) << "step " << step.name;
      Checkpoint point;
      point.step = step.name;
      ASSERT_OK_AND_ASSIGN(point.lsn, CurrentLsn(*pg_, "src"));
      ASSERT_OK_AND_ASSIGN(point.rows, CaptureTables(*pg_, "src"));
      ASSERT_OK_AND_ASSIGN(point.schema, Schema("src"));
      checkpoints_.push_back(std::move(point));
    }
    ASSERT_THAT(WaitForSlot(*pg_, "src", kSlot, checkpoints_.back().lsn, absl::Seconds(120)),
                IsOk())
        << ReadFile(log);
    agent->Kill(SIGTERM);
    ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
    ASSERT_EQ(stopped.exit_code, 0) << ReadFile(log);
    agent_log_ = ReadFile(log);
  }

  // Restores onto a new empty database; "" on success, else what went wrong. Thread-safe.
  std::string Restore(const std::string& db, std::vector<std::string> extra, std::string* log) {
    absl::Status created = pg_->CreateDatabase(db);
    if (!created.ok()) return created.ToString();
    std::vector<std::string> args = {"restore", "--object-store", "file://" + store_, "--target",
                                     pg_->ConnInfo(db)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = RunReplay(args);
    if (!result.ok()) return result.status().ToString();
    *log = result->stderr_text;
    if (result->exit_code != 0) {
      return absl::StrCat("walship-replay ", absl::StrJoin(extra, " "), " exited ",
                          result->exit_code, ":\n", result->stderr_text);
    }
    return "";
  }

  void CheckEveryStep();
  void CheckTableLevel();

  CorpusFamily family_;
  std::unique_ptr<PgCluster> pg_;
  std::string store_;
  std::string work_;
  struct Candidate {
    std::string quoted;   // "schema"."table" as format('%I.%I') writes it
    std::string display;  // schema.table, as --tables takes it
    std::string schema_quoted;  // quote_ident(schema)
    std::string schema_at_setup;
  };
  std::vector<Candidate> candidates_;
  std::string types_at_setup_;
  std::vector<Checkpoint> checkpoints_;
  std::string agent_log_;
  std::string last_replay_log_;
};

// One restore of the corpus and what it gave; filled on a thread of its own.
struct RestoreOutcome {
  std::string what;      // which step and path
  std::string failed;    // "" when walship-replay succeeded
  std::string log;       // its stderr
  std::string rows;      // first difference of the rows, "" when equal
  std::string extra;     // a table the source lacks, if any
  std::string schema;    // first difference of the schema, "" when equal
  std::string actual_schema;
};

void FidelityTest::CheckEveryStep() {
  // Every (step, path) restore at once, a few at a time: each is a process of its own
  // and mostly waits on the server.
  std::vector<RestoreOutcome> outcomes(checkpoints_.size() * 2);
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t k = next++; k < outcomes.size(); k = next++) {
      const Checkpoint& point = checkpoints_[k / 2];
      bool folded = k % 2 == 0;
      RestoreOutcome& out = outcomes[k];
      out.what = absl::StrCat(family_.name, " after step \"", point.step, "\" (",
                              point.lsn.ToString(), "), ", folded ? "folded" : "statement", " path");
      std::string db = absl::StrCat("r", k / 2, folded ? "_fold" : "_stmt");
      std::vector<std::string> extra = {"--to-lsn", point.lsn.ToString()};
      if (!folded) {
        extra.push_back("--fold-memory-mb");
        extra.push_back("0");
      }
      out.failed = Restore(db, extra, &out.log);
      if (!out.failed.empty()) continue;
      absl::StatusOr<TableRows> rows = CaptureTables(*pg_, db);
      if (!rows.ok()) {
        out.failed = rows.status().ToString();
        continue;
      }
      out.rows = FirstDifference(point.rows, *rows);
      for (const auto& [table, unused] : *rows) {
        if (!point.rows.count(table)) out.extra = table;
      }
      absl::StatusOr<std::string> schema = Schema(db);
      if (!schema.ok()) {
        out.failed = schema.status().ToString();
        continue;
      }
      out.schema = FirstDifferentLine(point.schema, *schema);
      if (!out.schema.empty()) {
        std::ofstream(absl::StrCat(work_, "/", db, ".expected.sql")) << point.schema;
        std::ofstream(absl::StrCat(work_, "/", db, ".actual.sql")) << *schema;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();
  for (const RestoreOutcome& out : outcomes) {
    SCOPED_TRACE(out.what);
    EXPECT_EQ(out.failed, "");
    if (!out.failed.empty()) continue;
    EXPECT_EQ(out.rows, "") << out.log;
    EXPECT_EQ(out.extra, "") << "restore has a table the source lacks";
    EXPECT_EQ(out.schema, "") << out.log;
  }
}

// The statements of a comparable schema (each ends with a line ending in ';').
std::vector<std::string> Statements(const std::string& schema) {
  std::vector<std::string> out;
  std::string current;
  for (absl::string_view line : absl::StrSplit(schema, '\n')) {
    absl::StrAppend(&current, current.empty() ? "" : "\n", line);
    if (absl::EndsWith(line, ";")) out.push_back(std::exchange(current, ""));
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

std::string TypeDefinitions(const std::string& schema) {
  std::string out;
  for (const std::string& statement : Statements(schema)) {
    if (absl::StartsWith(statement, "CREATE TYPE ") || absl::StartsWith(statement, "ALTER TYPE ") ||
        absl::StartsWith(statement, "CREATE DOMAIN ") ||
        absl::StartsWith(statement, "ALTER DOMAIN ")) {
      absl::StrAppend(&out, statement, "\n");
    }
  }
  return out;
}

void FidelityTest::CheckTableLevel() {
  // A table-level restore uses the target's live types and domains: base rows are checked
  // against them as they are now, so a family that changes them after the base is out of
  // this test's reach (README: table-level restores).
  if (TypeDefinitions(checkpoints_.back().schema) != types_at_setup_) {
    std::cerr << "table-level check left out: " << family_.name
              << " changes types or domains after the base\n";
    return;
  }
  // The tables whose definition the stream left as the base has it (table-level restores
  // take the base's definition; schema changes in the window are not replayed there).
  std::vector<const Candidate*> chosen;
  std::map<std::string, std::string> final_schema;
  for (const Candidate& candidate : candidates_) {
    auto dump = DumpTableSchema(*pg_, "src", candidate.quoted);
    if (!dump.ok()) continue;  // dropped or renamed since
    std::string schema = ComparableSchema(*dump);
    if (schema.empty() || schema != candidate.schema_at_setup) continue;
    chosen.push_back(&candidate);
    final_schema[candidate.quoted] = schema;
  }
  if (chosen.empty()) {
    std::cerr << "table-level check left out: no table keeps its base definition in "
              << family_.name << "\n";
    return;
  }
  const Checkpoint& last = checkpoints_.back();
  ASSERT_EQ(Restore("copy", {"--to-lsn", last.lsn.ToString()}, &last_replay_log_), "");
  std::vector<std::string> extra = {"--to-lsn", last.lsn.ToString(), "--into-schema",
                                    "restored set", "--tables"};
  for (const Candidate* candidate : chosen) extra.push_back(candidate->display);
  {
    std::vector<std::string> args = {"restore", "--object-store", "file://" + store_, "--target",
                                     pg_->ConnInfo("copy")};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, RunReplay(args));
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    last_replay_log_ = result.stderr_text;
  }
  ASSERT_OK_AND_ASSIGN(TableRows copy_rows, CaptureTables(*pg_, "copy"));
  std::set<std::string> chosen_quoted;
  for (const Candidate* candidate : chosen) chosen_quoted.insert(candidate->quoted);
  for (const Candidate* candidate : chosen) {
    SCOPED_TRACE(absl::StrCat(family_.name, ": ", candidate->display, " --into-schema"));
    // format('%I.%I') of the source name, less its schema part: ".table".
    const std::string& schema_quoted = candidate->schema_quoted;
    std::string table_part = candidate->quoted.substr(schema_quoted.size());
    std::string restored = absl::StrCat("\"restored set\"", table_part);
    auto want = last.rows.find(candidate->quoted);
    ASSERT_NE(want, last.rows.end());
    auto got = copy_rows.find(restored);
    ASSERT_NE(got, copy_rows.end()) << "no table " << restored << " in the copy";
    EXPECT_EQ(FirstDifference({{candidate->quoted, want->second}},
                              {{candidate->quoted, got->second}}),
              "");
    ASSERT_OK_AND_ASSIGN(std::string restored_dump, DumpTableSchema(*pg_, "copy", restored));
    std::string restored_schema = absl::StrReplaceAll(
        ComparableSchema(restored_dump), {{"\"restored set\".", absl::StrCat(schema_quoted, ".")}});
    // A foreign key to a table outside the chosen set is left out, and said so.
    std::vector<std::string> expected;
    for (const std::string& statement : Statements(final_schema[candidate->quoted])) {
      if (absl::StrContains(statement, " FOREIGN KEY ")) {
        bool inside = false;
        for (const std::string& name : chosen_quoted) {
          inside = inside || absl::StrContains(statement, absl::StrCat("REFERENCES ", name, "("));
        }
        if (!inside) {
          std::string constraint = statement.substr(statement.find("ADD CONSTRAINT ") + 15);
          constraint = constraint.substr(0, constraint.find(' '));
          EXPECT_THAT(last_replay_log_, ::testing::HasSubstr(constraint))
              << "a foreign key left out without a word: " << statement;
          continue;
        }
      }
      expected.push_back(statement);
    }
    EXPECT_EQ(FirstDifferentLine(absl::StrJoin(expected, "\n"), restored_schema), "")
        << last_replay_log_;
  }
}

TEST_P(FidelityTest, RestoresEqualTheSource) {
  absl::Time start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(RunFamily());
  absl::Time streamed = absl::Now();
  {
    SCOPED_TRACE("every step, folded and statement paths, onto an empty database");
    CheckEveryStep();
  }
  absl::Time restored = absl::Now();
  {
    SCOPED_TRACE("--tables ... --into-schema into a copy of the source");
    CheckTableLevel();
  }
  std::cerr << "timing: " << family_.name << ": setup and stream " << (streamed - start)
            << ", step restores " << (restored - streamed) << ", table-level "
            << (absl::Now() - restored) << "\n";
}

INSTANTIATE_TEST_SUITE_P(Corpus, FidelityTest, ::testing::ValuesIn(CorpusFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace walship::testing
