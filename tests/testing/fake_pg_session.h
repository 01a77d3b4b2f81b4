// A agent::pg::Session held in memory, for unit tests of code that talks to PostgreSQL through
// the Session interface: it records every statement and query in order and answers
// queries from rules (the first rule whose text occurs in the SQL), so a test can check
// exactly what was sent, in which order, and what was not.
#ifndef WALSHIP_TESTS_TESTING_FAKE_PG_SESSION_H_
#define WALSHIP_TESTS_TESTING_FAKE_PG_SESSION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/pg/session.h"

namespace walship::testing {

class FakePgSession : public agent::pg::CopyInSession {
 public:
  using Params = std::vector<std::optional<std::string>>;
  using Responder = std::function<absl::StatusOr<agent::pg::QueryResult>(const Params&)>;

  // Queries whose SQL contains `fragment` get `answer` (earlier rules win); others get no
  // rows. Exec() always succeeds.
  void Answer(std::string fragment, Responder answer) {
    answers_.emplace_back(std::move(fragment), std::move(answer));
  }
  void AnswerValue(std::string fragment, std::optional<std::string> value) {
    Answer(std::move(fragment), [value](const Params&) -> absl::StatusOr<agent::pg::QueryResult> {
      agent::pg::QueryResult result;
      result.rows.push_back({value});
      return result;
    });
  }

  // The result of each COPY FROM STDIN, given the rows (lines) it was sent; by default
  // every row was taken.
  void AnswerCopy(std::function<absl::StatusOr<uint64_t>(uint64_t rows)> answer) {
    copy_answer_ = std::move(answer);
  }

  // Every Exec()'d statement, every Query()/QueryValue() SQL prefixed "QUERY ", and
  // "COPY IN <sql>", "COPY END", "COPY ABORT <why>", in order.
  const std::vector<std::string>& log() const { return log_; }
  // The Exec()'d statements only.
  std::vector<std::string> statements() const {
    std::vector<std::string> out;
    for (const std::string& line : log_) {
      if (!absl::StartsWith(line, "QUERY ")) out.push_back(line);
    }
    return out;
  }

  absl::Status Exec(absl::string_view sql, absl::string_view /*what*/ = "") override {
    log_.emplace_back(sql);
    return absl::OkStatus();
  }
  absl::StatusOr<agent::pg::QueryResult> Query(absl::string_view sql, const Params& params = {},
                                        absl::string_view /*what*/ = "") override {
    log_.push_back(absl::StrCat("QUERY ", sql));
    for (const auto& [fragment, answer] : answers_) {
      if (absl::StrContains(sql, fragment)) return answer(params);
    }
    return agent::pg::QueryResult{};
  }
  absl::StatusOr<std::optional<std::string>> QueryValue(absl::string_view sql,
                                                        const Params& params = {},
                                                        absl::string_view what = "") override {
    absl::StatusOr<agent::pg::QueryResult> result = Query(sql, params, what);
    if (!result.ok()) return result.status();
    if (result->rows.empty() || result->rows[0].empty()) {
      return absl::NotFoundError(absl::StrCat("no row for ", sql));
    }
    return result->rows[0][0];
  }
  std::string Describe() const override { return "fake/0/test"; }

  // CopyInSession: the data of every COPY, concatenated, is in copied().
  absl::Status BeginCopyIn(absl::string_view sql) override {
    log_.push_back(absl::StrCat("COPY IN ", sql));
    copy_rows_ = 0;
    return absl::OkStatus();
  }
  absl::Status PutCopyData(absl::string_view data) override {
    copied_.append(data.data(), data.size());
    for (char c : data) copy_rows_ += c == '\n';
    return absl::OkStatus();
  }
  absl::Status EndCopyIn() override {
    log_.emplace_back("COPY END");
    return absl::OkStatus();
  }
  void AbortCopyIn(absl::string_view why) override {
    log_.push_back(absl::StrCat("COPY ABORT ", why));
  }
  absl::StatusOr<uint64_t> CopyInResult() override {
    return copy_answer_ ? copy_answer_(copy_rows_) : absl::StatusOr<uint64_t>(copy_rows_);
  }
  const std::string& copied() const { return copied_; }

 private:
  std::vector<std::pair<std::string, Responder>> answers_;
  std::vector<std::string> log_;
  std::function<absl::StatusOr<uint64_t>(uint64_t)> copy_answer_;
  std::string copied_;
  uint64_t copy_rows_ = 0;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_FAKE_PG_SESSION_H_
