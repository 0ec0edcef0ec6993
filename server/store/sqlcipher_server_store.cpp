#include "server/store/sqlcipher_server_store.hpp"

#include <algorithm>
#include <utility>

#include "schema/database.hpp"
#include "server/store/internal/column_values.hpp"
#include "server/store/internal/group_commit_writer.hpp"
#include "server/store/internal/push_commit_rows.hpp"
#include "server/store/internal/reader_pool.hpp"
#include "server/store/internal/store_gate.hpp"
#include "server/store/server_schema_migrations.hpp"
#include "sync/change_encoding.hpp"
#include "sync/record_state.hpp"

namespace casefile::server {
namespace {

using internal::from_column;
using internal::id_column;
using internal::store_corrupt;
using internal::store_unavailable;
using internal::to_column;

// Runs `read` on a pooled reader; a database error becomes store_unavailable.
template <typename Read>
auto with_reader(internal::ReaderPool& readers, Read&& read)
    -> decltype(read(std::declval<schema::Database&>())) {
  auto lease = readers.acquire();
  auto result = read(lease.database());
  if (!result.ok() && result.error().code != "store_corrupt") return store_unavailable(result.error());
  return result;
}

Result<std::uint64_t> read_head(schema::Database& database) {
  auto head = database.prepare("SELECT coalesce(max(sequence), 0) FROM change_log");
  if (!head.ok()) return std::move(head).error();
  auto row = head->step();
  if (!row.ok()) return std::move(row).error();
  return from_column(head->column_int64(0));
}

// Sequences of `case_id`'s entries in (after, through], ascending, at most `limit`.
Status collect_case_sequences(schema::Database& database, const sync::CaseId& case_id, std::uint64_t after,
                              std::uint64_t through, std::size_t limit, std::vector<std::uint64_t>& out) {
  // Index-only: change_log_by_case holds (case_id, sequence).
  auto query = database.prepare(
      "SELECT sequence FROM change_log WHERE case_id = ? AND sequence > ? AND sequence <= ? "
      "ORDER BY sequence LIMIT ?");
  if (!query.ok()) return std::move(query).error();
  query->bind_blob(1, id_column(case_id))
      .bind_int64(2, to_column(after))
      .bind_int64(3, to_column(through))
      .bind_int64(4, static_cast<std::int64_t>(limit));
  for (;;) {
    auto row = query->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return ok_status();
    out.push_back(from_column(query->column_int64(0)));
  }
}

Result<sync::LogEntry> read_entry(schema::Database& database, std::uint64_t sequence) {
  auto query = database.prepare(
      "SELECT change_bytes, batch_id, leaf_index, tree_size, proof_path FROM change_log WHERE sequence = ?");
  if (!query.ok()) return std::move(query).error();
  query->bind_int64(1, to_column(sequence));
  auto row = query->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return store_corrupt("a change_log row vanished inside a read snapshot");
  return internal::decode_log_entry(sequence, query->column_blob(0), query->column_blob(1),
                                    from_column(query->column_int64(2)), from_column(query->column_int64(3)),
                                    query->column_blob(4));
}

// The state of a record created by the change logged at `sequence` and not
// written since (records.created_by, migration 2).
Result<sync::RecordState> created_state(schema::Database& database, const sync::RecordKey& key,
                                        std::uint64_t sequence) {
  auto query = database.prepare("SELECT change_bytes FROM change_log WHERE sequence = ?");
  if (!query.ok()) return std::move(query).error();
  query->bind_int64(1, to_column(sequence));
  auto row = query->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return store_corrupt("records.created_by names no change_log row");
  return internal::state_created_by(key, query->column_blob(0));
}

Error closed_store() {
  return make_error("store_unavailable", "the store could not reopen after a database-key rekey");
}

}  // namespace

Result<std::unique_ptr<SqlcipherServerStore>> SqlcipherServerStore::open(
    const std::filesystem::path& path, const crypto::SecretBytes& database_key,
    const SqlcipherServerStoreOptions& options) {
  std::unique_ptr<SqlcipherServerStore> store(new SqlcipherServerStore(path, options));
  CASEFILE_RETURN_IF_ERROR(store->open_connections(database_key));
  return store;
}

SqlcipherServerStore::SqlcipherServerStore(std::filesystem::path path, SqlcipherServerStoreOptions options)
    : path_(std::move(path)), options_(options), gate_(std::make_unique<internal::StoreGate>()) {}

Status SqlcipherServerStore::open_connections(const crypto::SecretBytes& key) {
  schema::DatabaseOptions database_options;  // synchronous=FULL, WAL
  database_options.busy_timeout = options_.busy_timeout;
  auto writer = schema::Database::open(path_, key, database_options);
  if (!writer.ok()) return std::move(writer).error();
  CASEFILE_RETURN_IF_ERROR(schema::migrate(*writer, server_schema_migrations()));
  auto readers = internal::ReaderPool::open(path_, key, std::max<std::size_t>(options_.reader_connections, 1),
                                            database_options);
  if (!readers.ok()) return std::move(readers).error();
  readers_ = std::move(readers).value();
  writer_ = std::make_unique<internal::GroupCommitWriter>(
      std::move(writer).value(), std::max<std::size_t>(options_.max_group_commits, 1));
  return ok_status();
}

// The writer goes first: it answers queued commits before anything closes.
SqlcipherServerStore::~SqlcipherServerStore() { writer_.reset(); }

Status SqlcipherServerStore::rekey(const crypto::SecretBytes& current_key,
                                   const crypto::SecretBytes& new_key) {
  gate_->pause();
  // No call is inside: the writer's queue is empty and every reader is idle.
  if (writer_ != nullptr) {
    earlier_counters_.groups += writer_->groups_committed();
    earlier_counters_.commits += writer_->commits_answered();
  }
  writer_.reset();
  readers_.reset();
  Status rekeyed = [&]() -> Status {
    schema::DatabaseOptions database_options;
    database_options.busy_timeout = options_.busy_timeout;
    auto database = schema::Database::open(path_, current_key, database_options);
    if (!database.ok()) return std::move(database).error();
    return database->rekey(new_key);
  }();
  Status reopened = open_connections(rekeyed.ok() ? new_key : current_key);
  // A failed rekey may still have committed (docs/storage.md), or an earlier
  // one did: the file is under the new key, and the rotation has succeeded.
  if (!reopened.ok() && !rekeyed.ok()) {
    reopened = open_connections(new_key);
    if (reopened.ok()) rekeyed = ok_status();
  }
  if (!reopened.ok()) {
    writer_.reset();
    readers_.reset();
  }
  gate_->resume();
  if (!reopened.ok()) return closed_store();
  return rekeyed;
}

Result<std::optional<sync::AcceptedChange>> SqlcipherServerStore::find_change(const sync::ChangeId& id) {
  const internal::StoreGate::Pass pass(*gate_);
  if (readers_ == nullptr) return closed_store();
  return with_reader(
      *readers_, [&](schema::Database& database) -> Result<std::optional<sync::AcceptedChange>> {
        auto query = database.prepare(
            "SELECT sequence, leaf_hash FROM change_log WHERE device = ? AND device_sequence = ?");
        if (!query.ok()) return std::move(query).error();
        query->bind_blob(1, id_column(id.device)).bind_int64(2, to_column(id.sequence));
        auto row = query->step();
        if (!row.ok()) return std::move(row).error();
        if (!*row) return std::optional<sync::AcceptedChange>{};
        auto leaf_hash = internal::hash_from_column(*query, 1);
        if (!leaf_hash) return store_corrupt("change_log.leaf_hash");
        return std::optional<sync::AcceptedChange>{
            sync::AcceptedChange{from_column(query->column_int64(0)), *leaf_hash}};
      });
}

Result<std::optional<sync::StoredRecord>> SqlcipherServerStore::load_record(const sync::RecordKey& key) {
  const internal::StoreGate::Pass pass(*gate_);
  if (readers_ == nullptr) return closed_store();
  return with_reader(*readers_, [&](schema::Database& database) -> Result<std::optional<sync::StoredRecord>> {
    auto query = database.prepare(
        "SELECT version, state, created_by FROM records WHERE case_id = ? AND collection = ? AND record_id = "
        "?");
    if (!query.ok()) return std::move(query).error();
    query->bind_blob(1, id_column(key.case_id))
        .bind_text(2, key.collection)
        .bind_blob(3, id_column(key.record_id));
    auto row = query->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return std::optional<sync::StoredRecord>{};
    const std::uint64_t version = from_column(query->column_int64(0));
    if (query->column_is_null(1)) {
      // Its creating change applied to an empty record. Log rows are never
      // removed, so the change is there whatever snapshot reads it.
      auto created = created_state(database, key, from_column(query->column_int64(2)));
      if (!created.ok()) return std::move(created).error();
      return std::optional<sync::StoredRecord>{sync::StoredRecord{std::move(created).value(), version}};
    }
    auto state = sync::decode_record_state(query->column_blob(1));
    if (!state.ok() || state->key() != key) return store_corrupt("records.state");
    return std::optional<sync::StoredRecord>{sync::StoredRecord{std::move(state).value(), version}};
  });
}

Result<std::vector<sync::BatchHeader>> SqlcipherServerStore::load_batches(
    const std::vector<std::pair<sync::DeviceId, sync::BatchId>>& ids) {
  const internal::StoreGate::Pass pass(*gate_);
  if (readers_ == nullptr) return closed_store();
  return with_reader(*readers_, [&](schema::Database& database) -> Result<std::vector<sync::BatchHeader>> {
    std::vector<sync::BatchHeader> headers;
    headers.reserve(ids.size());
    for (const auto& [author, batch_id] : ids) {
      auto query = database.prepare(
          "SELECT tree_size, root, signature FROM batches WHERE author = ? AND batch_id = ?");
      if (!query.ok()) return std::move(query).error();
      query->bind_blob(1, id_column(author)).bind_blob(2, id_column(batch_id));
      auto row = query->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) continue;
      sync::BatchHeader header;
      header.id = batch_id;
      header.author = author;
      header.tree_size = from_column(query->column_int64(0));
      auto root = internal::hash_from_column(*query, 1);
      const crypto::Bytes signature = query->column_blob(2);
      if (!root || signature.size() != header.signature.size()) return store_corrupt("batches row");
      header.root = *root;
      std::copy(signature.begin(), signature.end(), header.signature.begin());
      headers.push_back(header);
    }
    return headers;
  });
}

Result<std::vector<std::uint64_t>> SqlcipherServerStore::commit_push(const sync::PushCommit& commit) {
  if (commit.accepted.empty() && commit.records.empty()) return std::vector<std::uint64_t>{};
  auto rows = internal::encode_push_commit(commit);  // on the caller's thread, not the writer's
  if (!rows.ok()) return std::move(rows).error();
  const internal::StoreGate::Pass pass(*gate_);
  if (writer_ == nullptr) return closed_store();
  return writer_->commit(*rows);
}

Result<sync::LogSlice> SqlcipherServerStore::read_log(std::uint64_t after_sequence,
                                                      const std::set<sync::CaseId>& readable_cases,
                                                      std::size_t limit) {
  const internal::StoreGate::Pass pass(*gate_);
  if (readers_ == nullptr) return closed_store();
  return with_reader(*readers_, [&](schema::Database& database) -> Result<sync::LogSlice> {
    auto snapshot = internal::ReadSnapshot::begin(database);
    if (!snapshot.ok()) return std::move(snapshot).error();
    auto head = read_head(database);
    if (!head.ok()) return std::move(head).error();
    sync::LogSlice slice;
    slice.head = *head;
    slice.scanned_through = after_sequence;
    if (limit == 0 || after_sequence >= *head) return slice;

    // The first `limit` sequences of the readable cases after the cursor: each
    // case's scan stops at the limit-th candidate found so far.
    std::vector<std::uint64_t> sequences;
    std::uint64_t bound = *head;
    for (const sync::CaseId& case_id : readable_cases) {
      CASEFILE_RETURN_IF_ERROR(
          collect_case_sequences(database, case_id, after_sequence, bound, limit, sequences));
      std::sort(sequences.begin(), sequences.end());
      if (sequences.size() >= limit) {
        sequences.resize(limit);
        bound = sequences.back();
      }
    }
    // A full page ends at its last entry; a short one has seen everything to the head.
    slice.scanned_through = sequences.size() == limit ? sequences.back() : *head;
    slice.entries.reserve(sequences.size());
    for (std::uint64_t sequence : sequences) {
      auto entry = read_entry(database, sequence);
      if (!entry.ok()) return std::move(entry).error();
      slice.entries.push_back(std::move(entry).value());
    }
    return slice;
  });
}

GroupCommitCounters SqlcipherServerStore::group_commit_counters() const {
  const internal::StoreGate::Pass pass(*gate_);
  if (writer_ == nullptr) return earlier_counters_;
  return GroupCommitCounters{earlier_counters_.groups + writer_->groups_committed(),
                             earlier_counters_.commits + writer_->commits_answered()};
}

std::size_t SqlcipherServerStore::queued_commits() const {
  const internal::StoreGate::Pass pass(*gate_);
  return writer_ == nullptr ? 0 : writer_->queued();
}

std::size_t SqlcipherServerStore::writing_commits() const {
  const internal::StoreGate::Pass pass(*gate_);
  return writer_ == nullptr ? 0 : writer_->writing();
}

}  // namespace casefile::server
