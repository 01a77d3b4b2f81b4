// Relation descriptions from pgoutput Relation and Type messages.
#include "agent/stream/relation_cache.h"

#include "absl/strings/str_cat.h"
#include "agent/pg/builtin_types.h"

namespace walship::agent {
namespace {

v1::ReplicaIdentity ToReplicaIdentity(char c) {
  switch (c) {
    case 'd': return v1::REPLICA_IDENTITY_DEFAULT;
    case 'n': return v1::REPLICA_IDENTITY_NOTHING;
    case 'f': return v1::REPLICA_IDENTITY_FULL;
    case 'i': return v1::REPLICA_IDENTITY_INDEX;
    default: return v1::REPLICA_IDENTITY_UNSPECIFIED;
  }
}

}  // namespace

void RelationCache::AddType(const TypeMessage& type) {
  types_[type.oid] = type.schema.empty() ? type.name : absl::StrCat(type.schema, ".", type.name);
}

std::string RelationCache::TypeName(uint32_t oid) const {
  if (auto builtin = BuiltinTypeName(oid)) return *builtin;
  auto it = types_.find(oid);
  if (it != types_.end()) return it->second;
  return absl::StrCat("oid:", oid);
}

std::shared_ptr<const v1::Relation> RelationCache::AddRelation(const RelationMessage& message) {
  std::shared_ptr<const v1::Relation> shared = Build(message);
  relations_[message.oid] = shared;
  return shared;
}

std::shared_ptr<const v1::Relation> RelationCache::Build(const RelationMessage& message) const {
  auto relation = std::make_shared<v1::Relation>();
  relation->set_oid(message.oid.value());
  relation->set_schema(message.schema.empty() ? "pg_catalog" : message.schema);
  relation->set_table(message.table);
  relation->set_replica_identity(ToReplicaIdentity(message.replica_identity));
  for (const RelationColumn& column : message.columns) {
    v1::Column* out = relation->add_columns();
    out->set_name(column.name);
    out->set_type_oid(column.type_oid);
    out->set_type_name(TypeName(column.type_oid));
    out->set_type_modifier(column.type_modifier);
    out->set_key(column.key);
  }
  return relation;
}

void RelationCache::Put(std::shared_ptr<const v1::Relation> relation) {
  RelationOid oid(relation->oid());
  relations_[oid] = std::move(relation);
}

std::shared_ptr<const v1::Relation> RelationCache::Find(RelationOid oid) const {
  auto it = relations_.find(oid);
  return it == relations_.end() ? nullptr : it->second;
}

void RelationCache::Clear() {
  types_.clear();
  relations_.clear();
}

}  // namespace walship::agent
