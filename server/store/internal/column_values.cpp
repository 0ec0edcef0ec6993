#include "server/store/internal/column_values.hpp"

#include <algorithm>

namespace casefile::server::internal {

std::optional<sync::MerkleHash> hash_from_column(const schema::Statement& statement, int column) {
  const crypto::Bytes bytes = statement.column_blob(column);
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

Error store_unavailable(const Error& database_error) {
  return make_error("store_unavailable",
                    "the server store failed (" + database_error.code + "): " + database_error.message);
}

Error store_corrupt(const char* what) {
  return make_error("store_corrupt", std::string("a stored row does not decode: ") + what);
}

}  // namespace casefile::server::internal
