#include "server/store/internal/column_values.hpp"

#include <algorithm>

#include "sync/change_encoding.hpp"

namespace casefile::server::internal {

std::optional<sync::MerkleHash> hash_from_column(const schema::Statement& statement, int column) {
  return hash_from_bytes(statement.column_blob(column));
}

std::optional<sync::MerkleHash> hash_from_bytes(crypto::ByteView bytes) {
  sync::MerkleHash hash{};
  if (bytes.size() != hash.size()) return std::nullopt;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

crypto::Bytes encode_proof_path(const std::vector<sync::MerkleHash>& path) {
  crypto::Bytes bytes;
  bytes.reserve(path.size() * sizeof(sync::MerkleHash));
  for (const sync::MerkleHash& hash : path) bytes.insert(bytes.end(), hash.begin(), hash.end());
  return bytes;
}

std::optional<std::vector<sync::MerkleHash>> decode_proof_path(crypto::ByteView bytes) {
  constexpr std::size_t kHashSize = sizeof(sync::MerkleHash);
  if (bytes.size() % kHashSize != 0) return std::nullopt;
  std::vector<sync::MerkleHash> path(bytes.size() / kHashSize);
  for (std::size_t i = 0; i < path.size(); ++i) {
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(i * kHashSize), kHashSize, path[i].begin());
  }
  return path;
}

Result<sync::LogEntry> decode_log_entry(std::uint64_t sequence, crypto::ByteView change_bytes,
                                        crypto::ByteView batch_id, std::uint64_t leaf_index,
                                        std::uint64_t tree_size, crypto::ByteView proof_path) {
  auto change = sync::decode_change(change_bytes);
  if (!change.ok()) return store_corrupt("change_log.change_bytes");
  auto batch = id_from_bytes<sync::BatchId>(batch_id);
  auto path = decode_proof_path(proof_path);
  if (!batch || !path) return store_corrupt("change_log proof columns");
  sync::LogEntry entry;
  entry.sequence = sequence;
  entry.change.change = std::move(change).value();
  entry.change.proof = sync::ChangeProof{*batch, leaf_index, tree_size, std::move(*path)};
  return entry;
}

Result<sync::RecordState> state_created_by(const sync::RecordKey& key, crypto::ByteView change_bytes) {
  auto change = sync::decode_change(change_bytes);
  if (!change.ok() || change->record != key) return store_corrupt("records.created_by");
  sync::RecordState state(key);
  state.apply(*change);
  return state;
}

Error store_unavailable(const Error& database_error) {
  if (database_error.code == "full") {
    return make_error("storage_full", "the server store cannot grow (disk full or file size limit): " +
                                          database_error.message);
  }
  return make_error("store_unavailable",
                    "the server store failed (" + database_error.code + "): " + database_error.message);
}

Error store_corrupt(const char* what) {
  return make_error("store_corrupt", std::string("a stored row does not decode: ") + what);
}

}  // namespace casefile::server::internal
