// How sync values map to SQLite columns in the server store, and how the
// store turns a database error into its own codes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "schema/statement.hpp"
#include "sync/ids.hpp"
#include "sync/merkle.hpp"

namespace casefile::server::internal {

// Unsigned 64-bit numbers are stored as the signed integer with the same bits.
inline std::int64_t to_column(std::uint64_t value) { return static_cast<std::int64_t>(value); }
inline std::uint64_t from_column(std::int64_t value) { return static_cast<std::uint64_t>(value); }

template <typename Tag>
crypto::ByteView id_column(const sync::Id128<Tag>& id) {
  return {id.bytes.data(), id.bytes.size()};
}

// The id in a 16-byte blob column; nullopt if the blob has another size.
template <typename IdType>
std::optional<IdType> id_from_column(const schema::Statement& statement, int column) {
  const crypto::Bytes bytes = statement.column_blob(column);
  IdType id;
  if (bytes.size() != id.bytes.size()) return std::nullopt;
  std::copy(bytes.begin(), bytes.end(), id.bytes.begin());
  return id;
}

// A 32-byte hash column; nullopt if the blob has another size.
std::optional<sync::MerkleHash> hash_from_column(const schema::Statement& statement, int column);

// An inclusion path is its hashes concatenated.
crypto::Bytes encode_proof_path(const std::vector<sync::MerkleHash>& path);
std::optional<std::vector<sync::MerkleHash>> decode_proof_path(crypto::ByteView bytes);

// "store_unavailable", naming the failed step and the database's own code.
Error store_unavailable(const Error& database_error);
Error store_corrupt(const char* what);

}  // namespace casefile::server::internal
