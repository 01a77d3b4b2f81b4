// The target database's side of a restore: checks each table the stream touches on first
// sight (exists, empty — or emptied with --force) and brings its columns up to the stream's
// description (ADD COLUMN for columns the stream gained; extra target columns are left in
// place with a warning).
#ifndef WALSHIP_REPLAY_APPLY_TARGET_TABLES_H_
#define WALSHIP_REPLAY_APPLY_TARGET_TABLES_H_

#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "agent/pg/pg_connection.h"
#include "proto/walship.pb.h"

namespace walship::replay {

// "public.deals", for messages.
std::string DisplayName(const v1::Relation& relation);

// Uses the caller's connection (which must outlive this object) inside whatever transaction
// the caller has open. Not thread-safe.
class TargetTables {
 public:
  TargetTables(agent::pg::PgConnection* conn, bool force) : conn_(conn), force_(force) {}

  // After a base snapshot was loaded: tables hold the base's rows (no emptiness check), and
  // a table the stream names that the target lacks (created at the source after the base,
  // with no DDL message) is created from the stream's description, with a warning.
  void set_after_base(bool after_base) { after_base_ = after_base; }

  // CREATE TABLE `schema`.<relation's table> with the relation's columns (types by OID for
  // built-in types, by name otherwise) and, unless REPLICA IDENTITY FULL, a primary key on
  // its key columns.
  absl::Status CreateFromRelation(const v1::Relation& relation, const std::string& schema);

  // Forgets what is known about a table (after DDL changed it behind this object).
  void Forget(const std::string& display_name) { tables_.erase(display_name); }
  // After a statement that may change any table (partitions and typed tables follow their
  // parent and type): every table is checked again on next use.
  void ForgetAll() { tables_.clear(); }

  // Prepares the relation's table for changes. Errors: the table is missing or not empty
  // without --force (kFailedPrecondition, with the fix), or a query failed.
  absl::Status Prepare(const v1::Relation& relation);

  // Tables prepared so far ("public.deals").
  size_t table_count() const { return tables_.size(); }

 private:
  struct TableState {
    uint32_t target_oid = 0;
    std::set<std::string> columns;  // the target's current columns
    std::set<std::string> warned;   // extra target columns already reported
  };
  absl::Status CheckNew(const v1::Relation& relation, TableState* state);
  absl::Status AddMissingColumns(const v1::Relation& relation, TableState* state);
  absl::StatusOr<std::string> TypeText(const v1::Column& column);

  agent::pg::PgConnection* conn_;
  bool force_;
  bool after_base_ = false;
  absl::flat_hash_map<std::string, TableState> tables_;  // by DisplayName
};

}  // namespace walship::replay

#endif  // WALSHIP_REPLAY_APPLY_TARGET_TABLES_H_
