// Folding row changes by key, and overlaying them on COPY text base rows.
#include "replay/apply/folded_table.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "replay/apply/copy_text.h"
#include "replay/apply/target_tables.h"

namespace walship::replay {
namespace {

// Bytes a map slot and an entry's bookkeeping cost besides the strings.
constexpr uint64_t kEntryOverhead = 96;

bool HasUnchanged(const std::vector<uint16_t>& list, int column) {
  return std::find(list.begin(), list.end(), column) != list.end();
}

// The fields of one COPY text line (no terminator); they stay valid as long as `line`.
std::vector<absl::string_view> Fields(absl::string_view line) { return absl::StrSplit(line, '\t'); }

}  // namespace

// Row images shorter than this stay in memory even while spilling: a reference costs
// about as much.
constexpr size_t kSpillMinBytes = 64;

FoldedTable::FoldedTable(const v1::Relation& relation, LineSpill* spill)
    : relation_(relation), spill_(spill), width_(relation.columns_size()) {
  for (int i = 0; i < width_; ++i) {
    if (relation.columns(i).key()) key_columns_.push_back(i);
  }
  multiset_ = key_columns_.empty() || relation.replica_identity() == v1::REPLICA_IDENTITY_FULL;
}

bool FoldedTable::KeyOf(const v1::Row& row, std::string* key) const {
  key->clear();
  for (size_t k = 0; k < key_columns_.size(); ++k) {
    const v1::Value& value = row.values(key_columns_[k]);
    if (!value.has_text()) return false;
    if (k > 0) key->push_back('\t');
    AppendCopyText(value.text(), key);
  }
  return true;
}

bool FoldedTable::BuildLine(const v1::Row& row, const Entry* previous, std::string* line,
                            std::vector<uint16_t>* unchanged) const {
  line->clear();
  unchanged->clear();
  std::vector<absl::string_view> previous_fields;
  std::string previous_scratch;
  for (int i = 0; i < width_; ++i) {
    if (i > 0) line->push_back('\t');
    const v1::Value& value = row.values(i);
    if (!value.has_unchanged_toast()) {
      AppendCopyValue(value, line);
      continue;
    }
    if (previous == nullptr || HasUnchanged(previous->unchanged, i)) {
      unchanged->push_back(static_cast<uint16_t>(i));
      continue;
    }
    if (previous->deleted) return false;
    if (previous_fields.empty()) {
      absl::StatusOr<absl::string_view> previous_line = LineOf(*previous, &previous_scratch);
      if (!previous_line.ok()) return false;
      previous_fields = Fields(*previous_line);
    }
    if (static_cast<int>(previous_fields.size()) != width_) return false;
    line->append(previous_fields[i].data(), previous_fields[i].size());
  }
  return true;
}

void FoldedTable::Account(const std::string& key, const Entry& entry, bool add) {
  uint64_t bytes = kEntryOverhead + key.capacity() + entry.line.capacity() +
                   entry.unchanged.capacity() * sizeof(uint16_t);
  if (add) {
    memory_bytes_ += bytes;
  } else {
    memory_bytes_ -= std::min(memory_bytes_, bytes);
  }
}

bool FoldedTable::Fold(const v1::Event& event) {
  const bool has_old = event.has_old_row() && event.old_row().values_size() > 0;
  if (has_old && event.old_row().values_size() != width_) return false;
  if (event.op() != v1::DELETE && event.new_row().values_size() != width_) return false;
  auto start = [&](v1::Operation op, bool must_exist) {
    Entry entry;
    entry.must_exist = must_exist;
    entry.first_op = op;
    entry.first_commit_lsn = Lsn(event.commit_lsn());
    entry.first_sequence = event.sequence();
    return entry;
  };
  if (multiset_) return FoldRow(event, has_old);
  std::string line;
  std::vector<uint16_t> unchanged;
  switch (event.op()) {
    case v1::INSERT: {
      std::string key;
      if (!KeyOf(event.new_row(), &key)) return false;
      if (!BuildLine(event.new_row(), nullptr, &line, &unchanged) || !unchanged.empty()) {
        return false;
      }
      auto it = entries_.find(key);
      if (it != entries_.end() && !it->second.deleted) return false;
      SetRow(key, start(v1::INSERT, false), std::move(line), {});
      return true;
    }
    case v1::UPDATE: {
      std::string old_key, new_key;
      if (!KeyOf(has_old ? event.old_row() : event.new_row(), &old_key) ||
          !KeyOf(event.new_row(), &new_key)) {
        return false;
      }
      auto old_it = entries_.find(old_key);
      const Entry* previous = old_it == entries_.end() ? nullptr : &old_it->second;
      if (previous != nullptr && previous->deleted) return false;
      if (!BuildLine(event.new_row(), previous, &line, &unchanged)) return false;
      if (whole_rows_ && !unchanged.empty()) return false;
      if (old_key == new_key) {
        SetRow(old_key, start(v1::UPDATE, true), std::move(line), std::move(unchanged));
        return true;
      }
      // The key changed: the old key's row goes, the new key's comes. A value the base
      // row of the old key would supply is not at hand when the new key's row is written.
      if (!unchanged.empty()) return false;
      auto new_it = entries_.find(new_key);
      if (new_it != entries_.end() && !new_it->second.deleted) return false;
      SetDeleted(old_key, start(v1::UPDATE, true));
      SetRow(new_key, start(v1::UPDATE, false), std::move(line), {});
      return true;
    }
    case v1::DELETE: {
      std::string key;
      if (!has_old || !KeyOf(event.old_row(), &key)) return false;
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.deleted) return false;
      SetDeleted(key, start(v1::DELETE, true));
      return true;
    }
    default:
      return false;
  }
}

FoldedTable::Entry& FoldedTable::Update(const std::string& key, Entry fresh) {
  auto [it, added] = entries_.try_emplace(key, std::move(fresh));
  if (!added) Account(it->first, it->second, false);
  return it->second;
}

void FoldedTable::SetRow(const std::string& key, Entry fresh, std::string line,
                         std::vector<uint16_t> unchanged) {
  Entry& entry = Update(key, std::move(fresh));
  entry.in_spill = false;
  entry.line = std::move(line);
  if (spill_ != nullptr && spill_->spilling() && entry.line.size() >= kSpillMinBytes) {
    absl::StatusOr<LineSpill::Ref> spilled = spill_->Append(entry.line);
    if (spilled.ok()) {  // else the image stays in memory
      entry.spilled = *spilled;
      entry.in_spill = true;
      std::string().swap(entry.line);
    }
  }
  entry.unchanged = std::move(unchanged);
  entry.deleted = false;
  Account(key, entry, true);
}

void FoldedTable::SetDeleted(const std::string& key, Entry fresh) {
  Entry& entry = Update(key, std::move(fresh));
  entry.deleted = true;
  entry.in_spill = false;
  std::string().swap(entry.line);
  std::vector<uint16_t>().swap(entry.unchanged);
  Account(key, entry, true);
}

absl::StatusOr<absl::string_view> FoldedTable::LineOf(const Entry& entry,
                                                      std::string* scratch) const {
  if (!entry.in_spill) return absl::string_view(entry.line);
  if (absl::Status read = spill_->Read(entry.spilled, scratch); !read.ok()) {
    return Annotate(read, absl::StrFormat("the folded changes of \"%s\"", DisplayName(relation_)));
  }
  return absl::string_view(*scratch);
}

std::string FoldedTable::Describe(const Entry& entry, absl::string_view key) const {
  std::vector<std::string> names;
  for (int column : key_columns_) names.push_back(relation_.columns(column).name());
  return absl::StrFormat("%s of \"%s\" at commit LSN %s (event %u), key (%s)=(%s)",
                         proto::OperationName(entry.first_op), DisplayName(relation_),
                         entry.first_commit_lsn.ToString(), entry.first_sequence,
                         absl::StrJoin(names, ", "),
                         absl::StrJoin(absl::StrSplit(key, '\t'), ", "));
}

absl::StatusOr<uint64_t> FoldedTable::OverlayInPlace(std::string* rows) {
  if (drop_base_) {
    rows->clear();
    return 0;
  }
  if (multiset_) return OverlayRows(rows);
  const absl::string_view data = *rows;
  uint64_t kept = 0;
  // Key columns first and in order (the usual `id` first) make the key a prefix of the line.
  bool prefix_key = true;
  for (size_t k = 0; k < key_columns_.size(); ++k) {
    prefix_key = prefix_key && key_columns_[k] == static_cast<int>(k);
  }
  const int last_key = key_columns_.back();
  std::string key;
  // The rewritten text, started at the first line the window changes; `pending` is where
  // the run of unchanged lines not yet copied into it begins.
  std::string out;
  std::string scratch;
  bool changed = false;
  size_t pending = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t end = std::min(data.find('\n', pos), data.size());
    const size_t next = std::min(end + 1, data.size());
    absl::string_view line = data.substr(pos, end - pos);
    // Field boundaries up to the last key column.
    absl::string_view lookup;
    size_t field_start = 0;
    size_t key_index = 0;  // the next key column to collect (they are in column order)
    int column = 0;
    bool complete = false;
    key.clear();
    for (size_t i = 0; i <= line.size(); ++i) {
      if (i < line.size() && line[i] != '\t') continue;
      if (!prefix_key && key_columns_[key_index] == column) {
        if (key_index++ > 0) key.push_back('\t');
        key.append(line.data() + field_start, i - field_start);
      }
      if (column == last_key) {
        if (prefix_key) lookup = line.substr(0, i);
        complete = true;
        break;
      }
      ++column;
      field_start = i + 1;
    }
    if (!complete) {
      return absl::DataLossError(
          absl::StrFormat("a base row of \"%s\" has %d fields, fewer than its key needs: \"%s\"",
                          DisplayName(relation_), column, line.substr(0, 80)));
    }
    if (!prefix_key) lookup = key;
    auto it = entries_.find(lookup);
    if (it == entries_.end()) {
      ++kept;
      pos = next;
      continue;
    }
    Entry& entry = it->second;
    if (entry.seen) {
      return absl::DataLossError(absl::StrFormat(
          "the base of \"%s\" holds key (%s) twice; the base is corrupt", DisplayName(relation_),
          absl::StrJoin(absl::StrSplit(it->first, '\t'), ", ")));
    }
    entry.seen = true;
    if (!entry.must_exist) {
      return absl::DataLossError(absl::StrFormat(
          "%s: the row was already in the base snapshot, so the stream and the base disagree",
          Describe(entry, it->first)));
    }
    if (!changed) {
      out.reserve(data.size() + 1024);
      changed = true;
    }
    out.append(data.data() + pending, pos - pending);
    pending = next;
    pos = next;
    if (entry.deleted) continue;
    absl::StatusOr<absl::string_view> image = LineOf(entry, &scratch);
    if (!image.ok()) return image.status();
    if (entry.unchanged.empty()) {
      out.append(image->data(), image->size());
    } else {
      std::vector<absl::string_view> mine = Fields(*image);
      std::vector<absl::string_view> base = Fields(line);
      if (static_cast<int>(base.size()) != width_ || static_cast<int>(mine.size()) != width_) {
        return absl::DataLossError(
            absl::StrFormat("a base row of \"%s\" has %d fields, not %d: \"%s\"",
                            DisplayName(relation_), base.size(), width_, line.substr(0, 80)));
      }
      for (int i = 0; i < width_; ++i) {
        if (i > 0) out.push_back('\t');
        absl::string_view field = HasUnchanged(entry.unchanged, i) ? base[i] : mine[i];
        out.append(field.data(), field.size());
      }
    }
    out.push_back('\n');
    ++kept;
  }
  if (changed) {
    out.append(data.data() + pending, data.size() - pending);
    rows->swap(out);
  }
  // Every line ends with a newline, the last one too.
  if (!rows->empty() && rows->back() != '\n') rows->push_back('\n');
  return kept;
}

absl::StatusOr<uint64_t> FoldedTable::Remaining(std::string* out) {
  return Remaining(std::numeric_limits<size_t>::max(), [out](std::string chunk) {
    out->append(chunk);
    return absl::OkStatus();
  });
}

absl::StatusOr<uint64_t> FoldedTable::Remaining(size_t chunk_bytes,
                                                absl::FunctionRef<absl::Status(std::string)> emit) {
  std::string chunk;
  auto add = [&](absl::string_view line) -> absl::Status {
    chunk.append(line.data(), line.size());
    chunk.push_back('\n');
    if (chunk.size() < chunk_bytes) return absl::OkStatus();
    std::string full;
    full.swap(chunk);
    return emit(std::move(full));
  };
  absl::StatusOr<uint64_t> rows = multiset_ ? RemainingRows(add) : RemainingKeyed(add);
  if (rows.ok() && !chunk.empty()) WALSHIP_RETURN_IF_ERROR(emit(std::move(chunk)));
  return rows;
}

absl::StatusOr<uint64_t> FoldedTable::RemainingKeyed(
    absl::FunctionRef<absl::Status(absl::string_view)> add) {
  const std::pair<const std::string, Entry>* missing = nullptr;
  uint64_t rows = 0;
  std::string scratch;
  for (const auto& item : entries_) {
    const Entry& entry = item.second;
    if (entry.must_exist && !entry.seen) {
      if (missing == nullptr ||
          std::make_pair(entry.first_commit_lsn, entry.first_sequence) <
              std::make_pair(missing->second.first_commit_lsn, missing->second.first_sequence)) {
        missing = &item;
      }
      continue;
    }
    if (entry.deleted || entry.seen) continue;
    absl::StatusOr<absl::string_view> image = LineOf(entry, &scratch);
    if (!image.ok()) return image.status();
    WALSHIP_RETURN_IF_ERROR(add(*image));
    ++rows;
  }
  if (missing != nullptr) {
    return absl::DataLossError(
        absl::StrFormat("%s: no such row in the base snapshot, so the stream and the base disagree",
                        Describe(missing->second, missing->first)));
  }
  return rows;
}

uint64_t FoldedTable::added_bytes() const {
  uint64_t bytes = 0;
  for (const auto& [line, count] : counts_) bytes += count > 0 ? count * (line.size() + 1) : 0;
  for (const auto& [key, entry] : entries_) {
    if (entry.must_exist || entry.deleted) continue;
    bytes += (entry.in_spill ? entry.spilled.size : entry.line.size()) + 1;
  }
  return bytes;
}

bool FoldedTable::FoldRow(const v1::Event& event, bool has_old) {
  std::string old_line, new_line;
  std::vector<uint16_t> unchanged;
  Entry old_row;  // the old row as BuildLine's `previous`, for the new row's TOAST values
  if (event.op() == v1::UPDATE || event.op() == v1::DELETE) {
    // Without the old row (a keyless table not under FULL) the row is not known.
    if (!has_old) return false;
    if (!BuildLine(event.old_row(), nullptr, &old_line, &unchanged) || !unchanged.empty()) {
      return false;
    }
    old_row.line = old_line;
  }
  if (event.op() == v1::INSERT || event.op() == v1::UPDATE) {
    const Entry* previous = event.op() == v1::UPDATE ? &old_row : nullptr;
    if (!BuildLine(event.new_row(), previous, &new_line, &unchanged) || !unchanged.empty()) {
      return false;
    }
  }
  switch (event.op()) {
    case v1::INSERT:
      Count(new_line, 1);
      return true;
    case v1::UPDATE:
      if (old_line == new_line) return true;
      Count(old_line, -1);
      Count(new_line, 1);
      return true;
    case v1::DELETE:
      Count(old_line, -1);
      return true;
    default:
      return false;
  }
}

void FoldedTable::Count(const std::string& line, int64_t delta) {
  auto [it, added] = counts_.try_emplace(line, 0);
  it->second += delta;
  const uint64_t bytes = kEntryOverhead + it->first.capacity();
  if (added) memory_bytes_ += bytes;
  if (it->second == 0) {
    memory_bytes_ -= std::min(memory_bytes_, bytes);
    counts_.erase(it);
  }
}

absl::StatusOr<uint64_t> FoldedTable::OverlayRows(std::string* rows) {
  const absl::string_view data = *rows;
  std::string out;
  bool changed = false;
  size_t pending = 0;  // where the run of kept lines not yet copied into `out` begins
  uint64_t kept = 0;
  for (size_t pos = 0; pos < data.size();) {
    const size_t end = std::min(data.find('\n', pos), data.size());
    const size_t next = std::min(end + 1, data.size());
    auto it = counts_.find(data.substr(pos, end - pos));
    if (it == counts_.end() || it->second >= 0) {
      ++kept;
      pos = next;
      continue;
    }
    ++it->second;  // one copy the window took away: this one
    if (!changed) {
      out.reserve(data.size());
      changed = true;
    }
    out.append(data.data() + pending, pos - pending);
    pending = next;
    pos = next;
  }
  if (changed) {
    out.append(data.data() + pending, data.size() - pending);
    rows->swap(out);
  }
  if (!rows->empty() && rows->back() != '\n') rows->push_back('\n');
  return kept;
}

absl::StatusOr<uint64_t> FoldedTable::RemainingRows(
    absl::FunctionRef<absl::Status(absl::string_view)> add) {
  uint64_t rows = 0;
  for (const auto& [line, count] : counts_) {
    if (count < 0) {
      return absl::DataLossError(absl::StrFormat(
          "the change window of \"%s\" (REPLICA IDENTITY FULL or no key) changed or deleted "
          "%d more copies of the row (%s) than the base snapshot holds, so the stream and the "
          "base disagree",
          DisplayName(relation_), -count,
          absl::StrJoin(absl::StrSplit(line.substr(0, 200), '\t'), ", ")));
    }
    for (int64_t i = 0; i < count; ++i) {
      WALSHIP_RETURN_IF_ERROR(add(line));
      ++rows;
    }
  }
  return rows;
}

absl::Status FoldedTable::ForEachChange(
    absl::FunctionRef<absl::Status(absl::string_view)> existing_key,
    absl::FunctionRef<absl::Status(absl::string_view)> row) const {
  if (multiset_ || !whole_rows_ || spill_ != nullptr) {
    return absl::InternalError(
        "ForEachChange needs a keyed table folded with whole rows, unspilled");
  }
  for (const auto& [key, entry] : entries_) {
    if (entry.must_exist) WALSHIP_RETURN_IF_ERROR(existing_key(key));
  }
  for (const auto& [key, entry] : entries_) {
    if (!entry.deleted) WALSHIP_RETURN_IF_ERROR(row(entry.line));  // never spilled: no spill_
  }
  return absl::OkStatus();
}

}  // namespace walship::replay
