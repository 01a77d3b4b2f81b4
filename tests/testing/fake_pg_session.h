// A agent::pg::Session held in memory, for unit tests of code that talks to PostgreSQL through
// the Session interface: it records every statement and query in order and answers
// queries from rules (the first rule whose text occurs in the SQL), so a test can check
// exactly what was sent, in which order, and what was not.
#ifndef WALSHIP_TESTS_TESTING_FAKE_PG_SESSION_H_
#define WALSHIP_TESTS_TESTING_FAKE_PG_SESSION_H_

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

class FakePgSession : public agent::pg::Session {
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

  // Every Exec()'d statement, and every Query()/QueryValue() SQL prefixed "QUERY ", in order.
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

 private:
  std::vector<std::pair<std::string, Responder>> answers_;
  std::vector<std::string> log_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_FAKE_PG_SESSION_H_
