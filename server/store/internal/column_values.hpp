// How sync values map to SQLite columns in the server store, and how the
// store turns a database error into its own codes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "schema/statement.hpp"
#include "sync/change_log.hpp"
#include "sync/ids.hpp"
#include "sync/merkle.hpp"
#include "sync/record_state.hpp"

namespace casefile::server::internal {

// Unsigned 64-bit numbers are stored as the signed integer with the same bits.
inline std::int64_t to_column(std::uint64_t value) { return static_cast<std::int64_t>(value); }
inline std::uint64_t from_column(std::int64_t value) { return static_cast<std::uint64_t>(value); }

template <typename Tag>
crypto::ByteView id_column(const sync::Id128<Tag>& id) {
  return {id.bytes.data(), id.bytes.size()};
}

// An id from its 16 stored bytes; nullopt if there are not 16.
template <typename IdType>
std::optional<IdType> id_from_bytes(crypto::ByteView bytes) {
  IdType id;
  if (bytes.size() != id.bytes.size()) return std::nullopt;
  std::copy(bytes.begin(), bytes.end(), id.bytes.begin());
  return id;
}

// The id in a 16-byte blob column; nullopt if the blob has another size.
template <typename IdType>
std::optional<IdType> id_from_column(const schema::Statement& statement, int column) {
  return id_from_bytes<IdType>(statement.column_blob(column));
}

// A 32-byte hash; nullopt if there are not 32 bytes.
std::optional<sync::MerkleHash> hash_from_bytes(crypto::ByteView bytes);
std::optional<sync::MerkleHash> hash_from_column(const schema::Statement& statement, int column);

// An inclusion path is its hashes concatenated.
crypto::Bytes encode_proof_path(const std::vector<sync::MerkleHash>& path);
std::optional<std::vector<sync::MerkleHash>> decode_proof_path(crypto::ByteView bytes);

// A change_log row as the log entry it stores. Errors: "store_corrupt".
Result<sync::LogEntry> decode_log_entry(std::uint64_t sequence, crypto::ByteView change_bytes,
                                        crypto::ByteView batch_id, std::uint64_t leaf_index,
                                        std::uint64_t tree_size, crypto::ByteView proof_path);

// The state of a record created by one logged change and not written since
// (records.created_by): that change applied to an empty record.
// Errors: "store_corrupt" (the change does not decode or is another record's).
Result<sync::RecordState> state_created_by(const sync::RecordKey& key, crypto::ByteView change_bytes);

// "store_unavailable", naming the failed step and the database's own code;
// "storage_full" when the database could not grow ("full").
Error store_unavailable(const Error& database_error);
Error store_corrupt(const char* what);

}  // namespace casefile::server::internal
