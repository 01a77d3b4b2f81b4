// Relation and type descriptions received from pgoutput, turned into v1::Relation. A
// Relation message replaces the entry for its OID (a table's columns may change
// mid-stream). Entries are shared and immutable, so a transaction can keep the version it
// used. Not thread-safe.
#ifndef WALSHIP_AGENT_STREAM_RELATION_CACHE_H_
#define WALSHIP_AGENT_STREAM_RELATION_CACHE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "agent/pg/pgoutput_messages.h"
#include "proto/walship.pb.h"

namespace walship::agent {

class RelationCache {
 public:
  // Names user-defined types (pgoutput sends a Type message before first use).
  void AddType(const TypeMessage& type);
  // Builds the description without storing it.
  std::shared_ptr<const v1::Relation> Build(const RelationMessage& relation) const;
  // Builds and stores the description; returns it.
  std::shared_ptr<const v1::Relation> AddRelation(const RelationMessage& relation);
  // Stores a description built earlier (by Build()).
  void Put(std::shared_ptr<const v1::Relation> relation);
  // nullptr when unknown.
  std::shared_ptr<const v1::Relation> Find(RelationOid oid) const;
  void Clear();

  // "numeric" for built-ins, "schema.name" for types seen in Type messages, "oid:N" else.
  std::string TypeName(uint32_t oid) const;

 private:
  absl::flat_hash_map<uint32_t, std::string> types_;
  absl::flat_hash_map<RelationOid, std::shared_ptr<const v1::Relation>> relations_;
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_STREAM_RELATION_CACHE_H_
