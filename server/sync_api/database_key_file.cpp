#include "server/sync_api/database_key_file.hpp"

#include <openssl/crypto.h>

#include <fstream>
#include <iterator>
#include <string>

#include "crypto/bytes.hpp"

namespace casefile::server {

Result<crypto::SecretBytes> read_database_key_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("io_error", "cannot read the database key file " + path.string());
  std::string hex((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  crypto::Bytes bytes;
  const bool valid = crypto::from_hex(hex, bytes) && bytes.size() == 32;
  crypto::SecretBytes key(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  OPENSSL_cleanse(hex.data(), hex.size());
  if (!valid) return make_error("corrupt_instance", "not a 32-byte hex key: " + path.string());
  return key;
}

}  // namespace casefile::server
