// The net effect of a run of row changes on one table, held in memory and laid over the
// table's base rows while they stream into COPY: a restore that folds the change window into
// the base load sends each row once, in its final state, instead of loading the base and
// then updating and deleting row by row.
//
// A table with a key folds by key. A table under REPLICA IDENTITY FULL, or without a key,
// folds as a multiset of whole rows: its rows may repeat, and a change names the row by all
// its values, so the window's net effect is a count per distinct row text (an UPDATE takes
// one copy of the old row away and adds one of the new); overlaying drops as many equal base
// rows as the window took away, and the rows it added come last.
//
// Keys are compared as their COPY text (see copy_text.h), which is exact: an event's key
// values are the text output of the very row it changed, and the base holds the text output
// of the same stored values under the same session settings. Different stored values that
// `=` calls equal (numeric 1.0 and 1.00) cannot both be in a unique key, so text equality
// finds exactly the row the source changed.
#ifndef WALSHIP_REPLAY_APPLY_FOLDED_TABLE_H_
#define WALSHIP_REPLAY_APPLY_FOLDED_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/core/lsn.h"
#include "proto/walship.pb.h"
#include "replay/apply/line_spill.h"

namespace walship::replay {

// Usage: Fold() the table's events in commit order; then, while loading, Overlay() every
// chunk of base rows and finally Remaining() once. Not thread-safe; one thread at a time.
class FoldedTable {
 public:
  // `relation` is the table as the base describes it: its key columns (the replica
  // identity) and REPLICA IDENTITY choose folding by key or as a multiset.
  // `spill`, when given, takes the row images of keyed tables while it is spilling (and
  // must outlive the table, and be flushed before Overlay()).
  explicit FoldedTable(const v1::Relation& relation, LineSpill* spill = nullptr);

  // Whether this table folds as a multiset of whole rows (REPLICA IDENTITY FULL, or no key).
  bool multiset() const { return multiset_; }

  // For a batch with no base rows to lay it over (the Applier's set path): Fold() also
  // refuses an UPDATE whose unchanged-TOAST values only the row before the batch holds.
  void set_whole_rows() { whole_rows_ = true; }
  // The table was emptied (a TRUNCATE) after the base and folds anew: Overlay() drops
  // every base row, so only what the window added after it loads.
  void DropBase() { drop_base_ = true; }

  // Takes one INSERT, UPDATE or DELETE of this table (its row images in the base's column
  // order). Returns false, changing nothing, when the event cannot be folded and must be
  // applied as a statement instead (together with every later event): a key that is NULL
  // or unchanged TOAST, an unchanged-TOAST value whose old row is not known, an INSERT of a
  // key the window already holds, an UPDATE or DELETE of a key the window deleted, a key
  // change onto a key the window holds, or a row image of the wrong width. Those are
  // either rare or a stream that contradicts itself, and the statement path reports the
  // latter exactly as it always does.
  bool Fold(const v1::Event& event);

  // False once DropBase() was called: the table then changes every base row.
  bool empty() const { return !drop_base_ && entries_.empty() && counts_.empty(); }
  // Keys (or distinct rows of a multiset) the window changed.
  size_t size() const { return multiset_ ? counts_.size() : entries_.size(); }
  // Approximate bytes held.
  uint64_t memory_bytes() const { return memory_bytes_; }

  // Rewrites `data` (whole COPY text lines of base rows) into `out` (appended): a row whose
  // key the window deleted is dropped, a row it updated is replaced by its final image
  // (unchanged-TOAST values taken from the base row). Returns the number of lines appended.
  // kDataLoss when a base row's key was inserted by the window (it was not there before)
  // or appears twice in the base, or a line is malformed.
  absl::StatusOr<uint64_t> Overlay(absl::string_view data, std::string* out) {
    std::string rows(data);
    absl::StatusOr<uint64_t> kept = OverlayInPlace(&rows);
    if (kept.ok()) out->append(rows);
    return kept;
  }
  // The same in place: `rows` becomes the rewritten lines. A chunk the window leaves alone
  // is not copied at all (most of a large table's chunks).
  absl::StatusOr<uint64_t> OverlayInPlace(std::string* rows);

  // After every base row went through Overlay(): appends the rows the window inserted (and
  // not deleted) and returns how many. kDataLoss, naming the event, when the window updated
  // or deleted a row that the base does not have.
  absl::StatusOr<uint64_t> Remaining(std::string* out);
  // The same in chunks of about `chunk_bytes` whole lines, each handed to `emit` (an error
  // of `emit` ends it).
  absl::StatusOr<uint64_t> Remaining(size_t chunk_bytes,
                                     absl::FunctionRef<absl::Status(std::string)> emit);
  // COPY text bytes of the rows Remaining() will add (for planning the load).
  uint64_t added_bytes() const;

  // Keyed tables folded with set_whole_rows(), as a set of changes to apply without base
  // rows: `existing_key` gets the key fields (COPY text, tab-separated, in column order) of
  // every row the window's first change of its key found in place, which must all be
  // deleted first; `row` then gets every final row image (COPY fields of all columns), to
  // be inserted. An error of either callback ends it.
  absl::Status ForEachChange(absl::FunctionRef<absl::Status(absl::string_view)> existing_key,
                             absl::FunctionRef<absl::Status(absl::string_view)> row) const;

 private:
  struct Entry {
    std::string line;        // the row's final image as COPY fields (state kRow)
    LineSpill::Ref spilled;  // where the image is instead, when in_spill
    bool in_spill = false;
    std::vector<uint16_t> unchanged;  // columns whose value the base row supplies
    bool deleted = false;
    bool must_exist = false;  // the window's first change of this key found it in place
    bool seen = false;        // the base row with this key went through Overlay()
    v1::Operation first_op = v1::OPERATION_UNSPECIFIED;
    Lsn first_commit_lsn;
    uint32_t first_sequence = 0;
  };

  // The key of `row` as escaped key fields joined by tabs; false when a key value is NULL
  // or unchanged TOAST.
  bool KeyOf(const v1::Row& row, std::string* key) const;
  // `row` as COPY fields; unchanged-TOAST values are taken from `previous` when it is a row
  // image, else listed in `unchanged` (needing the base row). False when `previous` is
  // needed but deleted.
  bool BuildLine(const v1::Row& row, const Entry* previous, std::string* line,
                 std::vector<uint16_t>* unchanged) const;
  // The entry's row image, from memory or read back from the spill into `scratch`.
  absl::StatusOr<absl::string_view> LineOf(const Entry& entry, std::string* scratch) const;
  // Adds or takes out an entry's bytes from memory_bytes_.
  void Account(const std::string& key, const Entry& entry, bool add);
  // The entry of `key` (`fresh` when there is none), its bytes taken out of the account
  // until the caller puts them back.
  Entry& Update(const std::string& key, Entry fresh);
  // The key's final state: a row image, or deleted. `fresh` describes a key not seen yet.
  void SetRow(const std::string& key, Entry fresh, std::string line,
              std::vector<uint16_t> unchanged);
  void SetDeleted(const std::string& key, Entry fresh);
  std::string Describe(const Entry& entry, absl::string_view key) const;
  // The multiset forms of Fold(), OverlayInPlace() and Remaining().
  bool FoldRow(const v1::Event& event, bool has_old);
  void Count(const std::string& line, int64_t delta);
  absl::StatusOr<uint64_t> OverlayRows(std::string* rows);
  absl::StatusOr<uint64_t> RemainingRows(absl::FunctionRef<absl::Status(absl::string_view)> add);
  absl::StatusOr<uint64_t> RemainingKeyed(absl::FunctionRef<absl::Status(absl::string_view)> add);

  v1::Relation relation_;
  LineSpill* spill_;
  std::vector<int> key_columns_;
  int width_ = 0;
  absl::flat_hash_map<std::string, Entry> entries_;
  bool multiset_ = false;
  bool whole_rows_ = false;
  bool drop_base_ = false;
  // Multiset: row text -> copies the window added (positive) or took away (negative).
  absl::flat_hash_map<std::string, int64_t> counts_;
  uint64_t memory_bytes_ = 0;
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_FOLDED_TABLE_H_
