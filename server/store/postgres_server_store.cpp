#include "server/store/postgres_server_store.hpp"

#include <algorithm>
#include <utility>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "server/store/instance_epoch.hpp"
#include "server/store/internal/column_values.hpp"
#include "server/store/internal/push_commit_rows.hpp"
#include "server/store/postgres_change_listener.hpp"
#include "server/store/postgres_connection.hpp"
#include "server/store/postgres_schema_migrations.hpp"
#include "sync/record_state.hpp"

namespace casefile::server {
namespace {

using internal::from_column;
using internal::id_column;
using internal::store_corrupt;
using internal::to_column;
using postgres::Connection;
using postgres::Parameters;
using postgres::QueryResult;

constexpr const char* kReadSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
// Rows of one multi-row INSERT into change_log: 10 parameters a row, far
// below PostgreSQL's 65535 parameters a statement.
constexpr std::size_t kChangesPerInsert = 500;

// The store's codes for a connection's errors.
Error store_error(Error error) {
  if (error.code == "store_conflict" || error.code == "store_corrupt" || error.code == "store_unavailable")
    return error;
  if (error.code == "corrupt") return store_corrupt("a PostgreSQL column has an unexpected type");
  // A serialization failure means another transaction won: retry, as for a conflict.
  if (error.code == "serialization") return make_error("store_conflict", error.message);
  return internal::store_unavailable(error);
}

Error conflict(const char* why) { return make_error("store_conflict", why); }

// Runs `body` on a pooled connection; every error becomes one of the store's.
template <typename Body>
auto with_connection(postgres::ConnectionPool& pool, Body&& body)
    -> decltype(body(std::declval<Connection&>())) {
  auto lease = pool.acquire();
  if (!lease.ok()) return store_error(std::move(lease).error());
  auto result = body(lease->connection());
  if (!result.ok()) return store_error(std::move(result).error());
  return result;
}

Result<std::uint64_t> unsigned_column(const QueryResult& result, int row, int column) {
  auto value = result.int64(row, column);
  if (!value.ok()) return std::move(value).error();
  return from_column(*value);
}

// Locks log_head until the transaction ends and reserves `count` sequences
// after the head; returns the first. Every writer passes here first, so
// commits that append run one at a time and commit in sequence order.
Result<std::uint64_t> reserve_sequences(Connection& connection, std::uint64_t count) {
  auto reserved = connection.execute(
      "UPDATE log_head SET last_sequence = last_sequence + $1 WHERE singleton = 1 "
      "RETURNING last_sequence - $1 + 1",
      Parameters().int64(to_column(count)));
  if (!reserved.ok()) return std::move(reserved).error();
  if (reserved->rows() != 1) return store_corrupt("log_head holds no row");
  return unsigned_column(*reserved, 0, 0);
}

Status write_record(Connection& connection, const sync::PushCommit::RecordWrite& write,
                    const crypto::Bytes& state, std::optional<std::uint64_t> created_by) {
  const sync::RecordKey& key = write.state.key();
  if (write.expected_version == 0) {
    Parameters parameters;
    parameters.bytes(id_column(key.case_id)).text(key.collection).bytes(id_column(key.record_id));
    const char* insert =
        created_by ? "INSERT INTO records (case_id, collection, record_id, version, state, created_by) "
                     "VALUES ($1, $2, $3, 1, NULL, $4)"
                   : "INSERT INTO records (case_id, collection, record_id, version, state, created_by) "
                     "VALUES ($1, $2, $3, 1, $4, NULL)";
    if (created_by) {
      parameters.int64(to_column(*created_by));
    } else {
      parameters.bytes(state);
    }
    auto inserted = connection.execute(insert, parameters);
    if (!inserted.ok() && inserted.error().code == "unique_violation")
      return conflict("record created since it was read");
    if (!inserted.ok()) return std::move(inserted).error();
    return ok_status();
  }
  auto updated = connection.execute(
      "UPDATE records SET state = $1, created_by = NULL, version = version + 1 "
      "WHERE case_id = $2 AND collection = $3 AND record_id = $4 AND version = $5",
      Parameters()
          .bytes(state)
          .bytes(id_column(key.case_id))
          .text(key.collection)
          .bytes(id_column(key.record_id))
          .int64(to_column(write.expected_version)));
  if (!updated.ok()) return std::move(updated).error();
  if (updated->affected_rows() != 1) return conflict("record changed since it was read");
  return ok_status();
}

Status insert_batch(Connection& connection, const sync::BatchHeader& batch) {
  // A batch pushed again keeps the header stored first (docs/server-store.md).
  auto inserted = connection.execute(
      "INSERT INTO batches (author, batch_id, tree_size, root, signature) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT DO NOTHING",
      Parameters()
          .bytes(id_column(batch.author))
          .bytes(id_column(batch.id))
          .int64(to_column(batch.tree_size))
          .bytes(batch.root)
          .bytes(batch.signature));
  if (!inserted.ok()) return std::move(inserted).error();
  return ok_status();
}

// Changes [begin, end) of the commit in one INSERT. The SQL text holds only
// placeholders; every value is a parameter.
Status insert_changes(Connection& connection, const internal::PushCommitRows& rows, std::size_t begin,
                      std::size_t end, std::uint64_t first_sequence) {
  std::string sql =
      "INSERT INTO change_log (sequence, device, device_sequence, case_id, change_bytes, leaf_hash, "
      "batch_id, "
      "leaf_index, tree_size, proof_path) VALUES ";
  Parameters parameters;
  for (std::size_t i = begin; i < end; ++i) {
    const sync::SignedChange& signed_change = rows.commit->accepted[i];
    const sync::Change& change = signed_change.change;
    const std::size_t first = parameters.size() + 1;
    if (i > begin) sql += ", ";
    sql += "(";
    for (std::size_t p = 0; p < 10; ++p) sql += (p == 0 ? "$" : ", $") + std::to_string(first + p);
    sql += ")";
    parameters.int64(to_column(first_sequence + i))
        .bytes(id_column(change.id.device))
        .int64(to_column(change.id.sequence))
        .bytes(id_column(change.record.case_id))
        .bytes(rows.change_bytes[i])
        .bytes(rows.commit->leaf_hashes[i])
        .bytes(id_column(signed_change.proof.batch))
        .int64(to_column(signed_change.proof.leaf_index))
        .int64(to_column(signed_change.proof.tree_size))
        .bytes(rows.proof_paths[i]);
  }
  auto inserted = connection.execute(sql, parameters);
  // The sequences are fresh under the log_head lock: only the change id can clash.
  if (!inserted.ok() && inserted.error().code == "unique_violation")
    return conflict("change id already in the log");
  if (!inserted.ok()) return std::move(inserted).error();
  return ok_status();
}

Result<std::vector<std::uint64_t>> write_push_commit(Connection& connection,
                                                     const internal::PushCommitRows& rows) {
  const sync::PushCommit& commit = *rows.commit;
  auto first_sequence = reserve_sequences(connection, commit.accepted.size());
  if (!first_sequence.ok()) return std::move(first_sequence).error();
  for (std::size_t i = 0; i < commit.records.size(); ++i) {
    std::optional<std::uint64_t> created_by;
    if (rows.record_created_by[i]) created_by = *first_sequence + *rows.record_created_by[i];
    CASEFILE_RETURN_IF_ERROR(write_record(connection, commit.records[i], rows.record_states[i], created_by));
  }
  if (commit.accepted.empty()) return std::vector<std::uint64_t>{};
  CASEFILE_RETURN_IF_ERROR(insert_batch(connection, commit.batch));
  for (std::size_t begin = 0; begin < commit.accepted.size(); begin += kChangesPerInsert) {
    const std::size_t end = std::min(commit.accepted.size(), begin + kChangesPerInsert);
    CASEFILE_RETURN_IF_ERROR(insert_changes(connection, rows, begin, end, *first_sequence));
  }
  std::vector<std::uint64_t> sequences(commit.accepted.size());
  for (std::size_t i = 0; i < sequences.size(); ++i) sequences[i] = *first_sequence + i;
  return sequences;
}

// Sequences of `case_id`'s entries in (after, through], ascending, at most `limit`.
Status collect_case_sequences(Connection& connection, const sync::CaseId& case_id, std::uint64_t after,
                              std::uint64_t through, std::size_t limit, std::vector<std::uint64_t>& out) {
  auto query = connection.execute(
      "SELECT sequence FROM change_log WHERE case_id = $1 AND sequence > $2 AND sequence <= $3 "
      "ORDER BY sequence LIMIT $4",
      Parameters()
          .bytes(id_column(case_id))
          .int64(to_column(after))
          .int64(to_column(through))
          .int64(static_cast<std::int64_t>(limit)));
  if (!query.ok()) return std::move(query).error();
  for (int row = 0; row < query->rows(); ++row) {
    auto sequence = unsigned_column(*query, row, 0);
    if (!sequence.ok()) return std::move(sequence).error();
    out.push_back(*sequence);
  }
  return ok_status();
}

Result<std::vector<sync::LogEntry>> read_entries(Connection& connection,
                                                 const std::vector<std::uint64_t>& sequences) {
  std::vector<std::int64_t> columns;
  columns.reserve(sequences.size());
  for (std::uint64_t sequence : sequences) columns.push_back(to_column(sequence));
  auto query = connection.execute(
      "SELECT sequence, change_bytes, batch_id, leaf_index, tree_size, proof_path FROM change_log "
      "WHERE sequence = ANY($1) ORDER BY sequence",
      Parameters().int64_array(columns));
  if (!query.ok()) return std::move(query).error();
  if (static_cast<std::size_t>(query->rows()) != sequences.size())
    return store_corrupt("a change_log row vanished inside a read snapshot");
  std::vector<sync::LogEntry> entries;
  entries.reserve(sequences.size());
  for (int row = 0; row < query->rows(); ++row) {
    auto sequence = unsigned_column(*query, row, 0);
    auto leaf_index = unsigned_column(*query, row, 3);
    auto tree_size = unsigned_column(*query, row, 4);
    if (!sequence.ok() || !leaf_index.ok() || !tree_size.ok()) return store_corrupt("change_log numbers");
    auto entry = internal::decode_log_entry(*sequence, query->bytes(row, 1), query->bytes(row, 2),
                                            *leaf_index, *tree_size, query->bytes(row, 5));
    if (!entry.ok()) return std::move(entry).error();
    entries.push_back(std::move(entry).value());
  }
  return entries;
}

}  // namespace

Result<std::unique_ptr<PostgresServerStore>> PostgresServerStore::open(
    std::string_view connection_string, const PostgresServerStoreOptions& options) {
  const crypto::SecretBytes secret(crypto::as_bytes(connection_string));
  auto first = Connection::open(secret);
  if (!first.ok()) return store_error(std::move(first).error());
  Status migrated = migrate_postgres(**first, postgres_server_migrations());
  if (!migrated.ok()) {
    if (migrated.error().code == "schema_too_new") return std::move(migrated).error();
    return store_error(std::move(migrated).error());
  }
  auto pool =
      std::make_unique<postgres::ConnectionPool>(secret, std::move(first).value(), options.connections);
  return std::unique_ptr<PostgresServerStore>(new PostgresServerStore(std::move(pool)));
}

PostgresServerStore::PostgresServerStore(std::unique_ptr<postgres::ConnectionPool> pool)
    : pool_(std::move(pool)) {}

PostgresServerStore::~PostgresServerStore() = default;

Result<std::optional<sync::AcceptedChange>> PostgresServerStore::find_change(const sync::ChangeId& id) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::optional<sync::AcceptedChange>> {
    auto query = connection.execute(
        "SELECT sequence, leaf_hash FROM change_log WHERE device = $1 AND device_sequence = $2",
        Parameters().bytes(id_column(id.device)).int64(to_column(id.sequence)));
    if (!query.ok()) return std::move(query).error();
    if (query->rows() == 0) return std::optional<sync::AcceptedChange>{};
    auto sequence = unsigned_column(*query, 0, 0);
    if (!sequence.ok()) return std::move(sequence).error();
    auto leaf_hash = internal::hash_from_bytes(query->bytes(0, 1));
    if (!leaf_hash) return store_corrupt("change_log.leaf_hash");
    return std::optional<sync::AcceptedChange>{sync::AcceptedChange{*sequence, *leaf_hash}};
  });
}

Result<std::optional<sync::StoredRecord>> PostgresServerStore::load_record(const sync::RecordKey& key) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::optional<sync::StoredRecord>> {
    // One statement, one snapshot: the record and, for a record stored as
    // created_by, the change that created it.
    auto query = connection.execute(
        "SELECT r.version, r.state, c.change_bytes FROM records r "
        "LEFT JOIN change_log c ON c.sequence = r.created_by "
        "WHERE r.case_id = $1 AND r.collection = $2 AND r.record_id = $3",
        Parameters().bytes(id_column(key.case_id)).text(key.collection).bytes(id_column(key.record_id)));
    if (!query.ok()) return std::move(query).error();
    if (query->rows() == 0) return std::optional<sync::StoredRecord>{};
    auto version = unsigned_column(*query, 0, 0);
    if (!version.ok()) return std::move(version).error();
    if (query->is_null(0, 1)) {
      if (query->is_null(0, 2)) return store_corrupt("records.created_by names no change_log row");
      auto created = internal::state_created_by(key, query->bytes(0, 2));
      if (!created.ok()) return std::move(created).error();
      return std::optional<sync::StoredRecord>{sync::StoredRecord{std::move(created).value(), *version}};
    }
    auto state = sync::decode_record_state(query->bytes(0, 1));
    if (!state.ok() || state->key() != key) return store_corrupt("records.state");
    return std::optional<sync::StoredRecord>{sync::StoredRecord{std::move(state).value(), *version}};
  });
}

Result<std::vector<sync::BatchHeader>> PostgresServerStore::load_batches(
    const std::vector<std::pair<sync::DeviceId, sync::BatchId>>& ids) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<sync::BatchHeader>> {
    std::vector<sync::BatchHeader> headers;
    headers.reserve(ids.size());
    for (const auto& [author, batch_id] : ids) {
      auto query = connection.execute(
          "SELECT tree_size, root, signature FROM batches WHERE author = $1 AND batch_id = $2",
          Parameters().bytes(id_column(author)).bytes(id_column(batch_id)));
      if (!query.ok()) return std::move(query).error();
      if (query->rows() == 0) continue;
      sync::BatchHeader header;
      header.id = batch_id;
      header.author = author;
      auto tree_size = unsigned_column(*query, 0, 0);
      auto root = internal::hash_from_bytes(query->bytes(0, 1));
      const crypto::Bytes signature = query->bytes(0, 2);
      if (!tree_size.ok() || !root || signature.size() != header.signature.size())
        return store_corrupt("batches row");
      header.tree_size = *tree_size;
      header.root = *root;
      std::copy(signature.begin(), signature.end(), header.signature.begin());
      headers.push_back(header);
    }
    return headers;
  });
}

Result<std::vector<std::uint64_t>> PostgresServerStore::commit_push(const sync::PushCommit& commit) {
  if (commit.accepted.empty() && commit.records.empty()) return std::vector<std::uint64_t>{};
  auto rows = internal::encode_push_commit(commit);  // before the lock: CPU work only
  if (!rows.ok()) return std::move(rows).error();
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<std::uint64_t>> {
    return postgres::in_transaction(connection, "BEGIN", [&]() -> Result<std::vector<std::uint64_t>> {
      auto sequences = write_push_commit(connection, *rows);
      if (!sequences.ok() || commit.accepted.empty()) return sequences;
      // Delivered to every listening instance when, and only if, this commits.
      std::set<sync::CaseId> cases;
      for (const auto& change : commit.accepted) cases.insert(change.change.record.case_id);
      auto notified = connection.execute(
          "SELECT pg_notify($1, $2)", Parameters().text(kChangeChannel).text(encode_change_payload(cases)));
      if (!notified.ok()) return std::move(notified).error();
      return sequences;
    });
  });
}

Status PostgresServerStore::for_each_record(std::string_view collection,
                                            const std::function<void(sync::RecordState)>& visit) {
  return with_connection(*pool_, [&](Connection& connection) -> Status {
    return postgres::in_transaction(connection, kReadSnapshot, [&]() -> Status {
      auto rows = connection.execute(
          "SELECT records.case_id, records.record_id, records.state, change_log.change_bytes FROM records "
          "LEFT JOIN change_log ON change_log.sequence = records.created_by WHERE records.collection = $1",
          Parameters().text(collection));
      if (!rows.ok()) return std::move(rows).error();
      for (int row = 0; row < rows->rows(); ++row) {
        if (!rows->is_null(row, 2)) {
          auto state = sync::decode_record_state(rows->bytes(row, 2));
          if (!state.ok()) return store_corrupt("a stored record does not decode");
          visit(std::move(state).value());
          continue;
        }
        auto case_id = internal::id_from_bytes<sync::CaseId>(rows->bytes(row, 0));
        auto record_id = internal::id_from_bytes<sync::RecordId>(rows->bytes(row, 1));
        if (!case_id || !record_id) return store_corrupt("records row");
        auto state = internal::state_created_by(
            sync::RecordKey{*case_id, std::string(collection), *record_id}, rows->bytes(row, 3));
        if (!state.ok()) return std::move(state).error();
        visit(std::move(state).value());
      }
      return ok_status();
    });
  });
}

Result<sync::LogSlice> PostgresServerStore::read_log(std::uint64_t after_sequence,
                                                     const std::set<sync::CaseId>& readable_cases,
                                                     std::size_t limit) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<sync::LogSlice> {
    return postgres::in_transaction(connection, kReadSnapshot, [&]() -> Result<sync::LogSlice> {
      auto head_row = connection.execute("SELECT last_sequence FROM log_head WHERE singleton = 1");
      if (!head_row.ok()) return std::move(head_row).error();
      if (head_row->rows() != 1) return store_corrupt("log_head holds no row");
      auto head = unsigned_column(*head_row, 0, 0);
      if (!head.ok()) return std::move(head).error();
      sync::LogSlice slice;
      slice.head = *head;
      slice.scanned_through = after_sequence;
      if (limit == 0 || after_sequence >= *head) return slice;

      // As SqlcipherServerStore::read_log: each case's scan stops at the
      // limit-th candidate found so far.
      std::vector<std::uint64_t> sequences;
      std::uint64_t bound = *head;
      for (const sync::CaseId& case_id : readable_cases) {
        CASEFILE_RETURN_IF_ERROR(
            collect_case_sequences(connection, case_id, after_sequence, bound, limit, sequences));
        std::sort(sequences.begin(), sequences.end());
        if (sequences.size() >= limit) {
          sequences.resize(limit);
          bound = sequences.back();
        }
      }
      slice.scanned_through = sequences.size() == limit ? sequences.back() : *head;
      if (sequences.empty()) return slice;
      auto entries = read_entries(connection, sequences);
      if (!entries.ok()) return std::move(entries).error();
      slice.entries = std::move(entries).value();
      return slice;
    });
  });
}

Result<std::string> PostgresServerStore::instance_epoch() {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::string> {
    auto query = connection.execute("SELECT epoch FROM instance_identity WHERE singleton = 1");
    if (!query.ok()) return std::move(query).error();
    if (query->rows() != 1) return store_corrupt("instance_identity holds no epoch");
    const crypto::Bytes epoch = query->bytes(0, 0);
    if (epoch.size() != kInstanceEpochSize) return store_corrupt("instance_identity.epoch");
    return crypto::to_hex(epoch);
  });
}

Result<std::string> PostgresServerStore::renew_instance_epoch() {
  auto epoch = crypto::random_bytes(kInstanceEpochSize);
  if (!epoch.ok()) return std::move(epoch).error();
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::string> {
    auto updated = connection.execute("UPDATE instance_identity SET epoch = $1 WHERE singleton = 1",
                                      Parameters().bytes(*epoch));
    if (!updated.ok()) return std::move(updated).error();
    if (updated->affected_rows() != 1) return store_corrupt("instance_identity holds no epoch");
    return crypto::to_hex(*epoch);
  });
}

}  // namespace casefile::server
