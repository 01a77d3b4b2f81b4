// Pre-flight checks of a restore.
#include "replay/plan/preflight.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "proto/core/log.h"
#include "proto/core/lsn.h"
#include "proto/core/status_macros.h"
#include "proto/segment_reader.h"
#include "replay/catalog/base_catalog.h"
#include "replay/catalog/segment_records.h"
#include "sinks/object_store/layout.h"

namespace walship::replay {
namespace {

std::string DisplayName(const v1::Relation& relation) {
  return absl::StrCat(relation.schema(), ".", relation.table());
}

// One object: opened through the store (decrypted and tag-checked when encrypted), its
// footer and SHA-256 checked by the segment reader, its kind and trailer compared.
absl::Status CheckObject(sinks::ObjectStore* store, ObjectCache* cache,
                         const PreflightObject& object, uint64_t* bytes) {
  if (cache != nullptr) WALSHIP_RETURN_IF_ERROR(cache->Fetch(object.key));
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::RandomAccessSource> source,
                           store->Open(object.key));
  *bytes = source->size();
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::SegmentReader> reader,
                           proto::SegmentReader::Open(source.get()));
  v1::ObjectKind want = object.segment != nullptr ? v1::CHANGE_SEGMENT : v1::BASE_SEGMENT;
  if (reader->header().kind() != want) {
    return absl::DataLossError(absl::StrCat(
        "it is not a ", want == v1::CHANGE_SEGMENT ? "change" : "base", " segment"));
  }
  if (object.segment != nullptr) {
    const v1::SegmentTrailer& planned = object.segment->trailer;
    if (reader->trailer().first_commit_lsn() != planned.first_commit_lsn() ||
        reader->trailer().last_end_lsn() != planned.last_end_lsn()) {
      return absl::DataLossError(absl::StrFormat(
          "it covers %s to %s but its index object \"%s\" says %s to %s",
          Lsn(reader->trailer().first_commit_lsn()).ToString(),
          Lsn(reader->trailer().last_end_lsn()).ToString(), object.segment->index_key,
          Lsn(planned.first_commit_lsn()).ToString(), Lsn(planned.last_end_lsn()).ToString()));
    }
    // A segment split across objects: each part present, whole and the one named.
    const auto& parts = reader->trailer().parts();
    for (int i = 0; i < parts.size(); ++i) {
      if (cache != nullptr && sinks::IsPartKeyOfSegment(parts[i].key(), object.key)) {
        WALSHIP_RETURN_IF_ERROR(cache->Fetch(parts[i].key()));
      }
      WALSHIP_ASSIGN_OR_RETURN(OpenedPart part,
                               OpenSegmentPart(store, object.key, parts[i], i + 1));
      *bytes += part.source->size();
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<PreflightObject> ObjectsToRead(const BaseRestorePlan& plan,
                                           const sinks::StreamId& stream,
                                           const std::vector<const v1::BaseTable*>& tables,
                                           bool large_objects) {
  std::vector<PreflightObject> out;
  if (large_objects) {
    for (const std::string& stored_key : plan.base.manifest.large_object_keys()) {
      std::string key = BaseObjectKey(stream, stored_key);
      out.push_back({key, absl::StrFormat("base object \"%s\" of the large objects", key),
                     nullptr});
    }
  }
  for (const v1::BaseTable* table : tables) {
    for (const std::string& stored_key : table->object_keys()) {
      std::string key = BaseObjectKey(stream, stored_key);
      out.push_back({key,
                     absl::StrFormat("base object \"%s\" of table \"%s\"", key,
                                     DisplayName(table->relation())),
                     nullptr});
    }
  }
  for (const CatalogSegment& segment : plan.changes.segments) {
    out.push_back({segment.segment_key,
                   absl::StrFormat("change segment \"%s\"", segment.segment_key), &segment});
  }
  // After the window: the segments a sequence recording is read from (see
  // FindSequenceRecording): the first two that hold recordings, and the stream's last one.
  uint64_t window_end = plan.changes.segments.empty()
                            ? plan.base.snapshot_lsn().value()
                            : plan.changes.segments.back().trailer.last_end_lsn();
  std::vector<const CatalogSegment*> later;
  const CatalogSegment* last_with_recordings = nullptr;
  for (const CatalogSegment& segment : plan.stream_segments) {
    if (segment.trailer.sequence_recordings() == 0) continue;
    last_with_recordings = &segment;
    if (segment.trailer.last_end_lsn() > window_end && later.size() < 2) {
      later.push_back(&segment);
    }
  }
  if (last_with_recordings != nullptr &&
      std::find(later.begin(), later.end(), last_with_recordings) == later.end()) {
    later.push_back(last_with_recordings);
  }
  for (const CatalogSegment* segment : later) {
    bool listed = false;
    for (const PreflightObject& object : out) listed = listed || object.key == segment->segment_key;
    if (listed) continue;
    out.push_back({segment->segment_key,
                   absl::StrFormat("change segment \"%s\" (sequence recordings)",
                                   segment->segment_key),
                   segment});
  }
  return out;
}

absl::StatusOr<PreflightStats> CheckObjects(sinks::ObjectStore* store, ObjectCache* cache,
                                            const std::vector<PreflightObject>& objects,
                                            int jobs) {
  PreflightStats stats;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes{0};
  absl::Mutex mu;
  size_t first_bad = objects.size();
  absl::Status first_error;
  auto work = [&]() {
    for (size_t i = next++; i < objects.size(); i = next++) {
      {
        absl::MutexLock lock(&mu);
        if (first_bad < i) return;  // an earlier object failed: stop
      }
      uint64_t size = 0;
      absl::Status checked = CheckObject(store, cache, objects[i], &size);
      bytes += size;
      if (!checked.ok()) {
        absl::MutexLock lock(&mu);
        if (i < first_bad) {
          first_bad = i;
          first_error = checked;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  int count = std::max(1, std::min<int>(jobs, static_cast<int>(objects.size())));
  for (int i = 0; i < count; ++i) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();
  if (first_bad < objects.size()) {
    const PreflightObject& bad = objects[first_bad];
    absl::string_view problem =
        first_error.code() == absl::StatusCode::kNotFound ? "is missing" : "is unusable";
    return absl::Status(
        first_error.code() == absl::StatusCode::kNotFound ? absl::StatusCode::kDataLoss
                                                          : first_error.code(),
        absl::StrFormat("pre-flight: %s %s: %s", bad.what, problem, first_error.message()));
  }
  stats.objects = objects.size();
  stats.bytes = bytes.load();
  stats.fetched = cache != nullptr ? cache->fetched_bytes() : 0;
  return stats;
}

std::vector<std::string> ExtensionsCreatedBy(const std::string& pre_data_sql) {
  constexpr absl::string_view kCreate = "CREATE EXTENSION IF NOT EXISTS ";
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(pre_data_sql, '\n')) {
    if (!absl::StartsWith(line, kCreate)) continue;
    line.remove_prefix(kCreate.size());
    std::string name;
    if (!line.empty() && line.front() == '"') {
      // A quoted identifier: "" inside stands for one ".
      for (size_t i = 1; i < line.size(); ++i) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            name.push_back('"');
            ++i;
            continue;
          }
          break;
        }
        name.push_back(line[i]);
      }
    } else {
      name = std::string(line.substr(0, line.find_first_of(" ;")));
    }
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

absl::Status CheckExtensionsAvailable(agent::pg::Session* conn,
                                      const std::vector<std::string>& extensions) {
  std::vector<std::string> missing;
  for (const std::string& name : extensions) {
    WALSHIP_ASSIGN_OR_RETURN(
        std::optional<std::string> available,
        conn->QueryValue("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions "
                         "WHERE name = $1)",
                         {name}, absl::StrFormat("looking up extension \"%s\"", name)));
    if (available.value_or("f") != "t") missing.push_back(name);
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "the target server cannot install the extension%s the base's schema creates: %s "
      "(install the package that provides %s on the target's server, e.g. postgresql-contrib)",
      missing.size() > 1 ? "s" : "", absl::StrJoin(missing, ", "),
      missing.size() > 1 ? "them" : "it"));
}

absl::StatusOr<std::vector<const v1::BaseRole*>> MissingRoles(agent::pg::Session* conn,
                                                              const v1::BaseManifest& manifest) {
  std::vector<const v1::BaseRole*> missing;
  for (const v1::BaseRole& role : manifest.roles()) {
    WALSHIP_ASSIGN_OR_RETURN(
        std::optional<std::string> exists,
        conn->QueryValue("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)",
                         {role.name()}, absl::StrFormat("looking up role \"%s\"", role.name())));
    if (exists.value_or("f") != "t") missing.push_back(&role);
  }
  return missing;
}

absl::Status ProvideRoles(agent::pg::Session* conn,
                          const std::vector<const v1::BaseRole*>& missing, bool create) {
  if (missing.empty()) return absl::OkStatus();
  std::vector<std::string> names;
  for (const v1::BaseRole* role : missing) names.push_back(agent::pg::QuoteIdent(role->name()));
  if (!create) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the base's schema grants privileges to role%s the target server lacks: %s; create "
        "them first (pg_dumpall --roles-only on the source gives them with their passwords), "
        "or restore with --create-roles, which creates them without passwords",
        missing.size() > 1 ? "s" : "", absl::StrJoin(names, ", ")));
  }
  for (const v1::BaseRole* role : missing) {
    std::string name = agent::pg::QuoteIdent(role->name());
    WALSHIP_RETURN_IF_ERROR(conn->Exec(
        absl::StrCat("CREATE ROLE ", name, role->login() ? " LOGIN" : " NOLOGIN",
                     role->inherit() ? " INHERIT" : " NOINHERIT"),
        absl::StrFormat("creating role %s (--create-roles)", name)));
    LogInfo("created role %s without a password (--create-roles)%s", name,
            role->login() ? ": it can log in once given one" : "");
  }
  return absl::OkStatus();
}

absl::Status CheckTargetIsEmpty(agent::pg::Session* conn) {
  // Objects an extension owns (pg_depend deptype 'e') belong to it, not to the target.
  constexpr char kSql[] = R"sql(
SELECT what FROM (
  SELECT 1 AS k, 'schema ' || pg_catalog.quote_ident(n.nspname) AS what
  FROM pg_catalog.pg_namespace n
  WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                    WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                      AND e.objid = n.oid AND e.deptype = 'e')
  UNION ALL
  SELECT 2, 'relation ' || c.oid::pg_catalog.regclass::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                    WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND e.objid = c.oid AND e.deptype = 'e')
  UNION ALL
  SELECT 3, 'type ' || t.oid::pg_catalog.regtype::text
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS (
           SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c')))
    AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                    WHERE e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
                      AND e.objid = t.oid AND e.deptype = 'e')
  UNION ALL
  SELECT 4, 'large object ' || m.oid FROM pg_catalog.pg_largeobject_metadata m
) objects ORDER BY k, what LIMIT 6)sql";
  WALSHIP_ASSIGN_OR_RETURN(agent::pg::QueryResult found,
                           conn->Query(kSql, {}, "checking that the target is empty"));
  if (found.rows.empty()) return absl::OkStatus();
  std::vector<std::string> names;
  for (size_t i = 0; i < found.rows.size() && i < 5; ++i) {
    names.push_back(found.rows[i][0].value_or("?"));
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "the target database is not empty: it holds %s%s, but none of the base's tables; "
      "restore into a new empty database (createdb), into one that has the base's whole "
      "schema, or use --tables ... --into-schema",
      absl::StrJoin(names, ", "), found.rows.size() > 5 ? " and more" : ""));
}

}  // namespace walship::replay
