#include "server/backup/backup_key.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

#include "crypto/bytes.hpp"
#include "crypto/key_file.hpp"
#include "server/instance.hpp"

namespace casefile::server {
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kMinPassphraseSize = 12;
}

fs::path backup_public_key_path(const fs::path& instance_root) {
  return instance_root / "org" / "backup.pub";
}

Result<crypto::X25519PublicKey> create_backup_key(const fs::path& instance_root,
                                                  const fs::path& private_key_file,
                                                  std::string_view passphrase) {
  if (!instance_exists(instance_root))
    return make_error("no_instance", "no instance at " + instance_root.string());
  if (passphrase.size() < kMinPassphraseSize) {
    return make_error("invalid_argument", "a backup-key passphrase is at least 12 characters");
  }
  std::error_code error;
  if (fs::exists(private_key_file, error)) {
    return make_error("backup_key_exists", "refusing to overwrite " + private_key_file.string());
  }
  auto key = crypto::X25519PrivateKey::generate();
  if (!key.ok()) return std::move(key).error();
  CASEFILE_RETURN_IF_ERROR(crypto::save_key_file(private_key_file, key->private_bytes().view(), passphrase,
                                                 kKeyFilePurposeBackup));
  // Atomic replacement, as for key files; a public key needs no secrecy but
  // the same never-half-written guarantee.
  const std::string text = crypto::to_hex(key->public_key()) + "\n";
  CASEFILE_RETURN_IF_ERROR(
      crypto::write_key_file(backup_public_key_path(instance_root), crypto::as_bytes(text)));
  fs::permissions(backup_public_key_path(instance_root), fs::perms(0644), error);
  return key->public_key();
}

Result<crypto::X25519PublicKey> read_backup_public_key(const fs::path& instance_root) {
  const fs::path path = backup_public_key_path(instance_root);
  std::error_code error;
  if (!fs::exists(path, error)) {
    return make_error("backup_key_missing",
                      "the instance has no backup key; create one with casefile-admin backup-key init");
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return make_error("io_error", "cannot read " + path.string());
  crypto::Bytes bytes;
  if (!crypto::from_hex(line, bytes) || bytes.size() != crypto::kX25519KeySize) {
    return make_error("corrupt_instance", path.string() + " is not a 32-byte hex public key");
  }
  crypto::X25519PublicKey key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

Result<crypto::X25519PrivateKey> load_backup_private_key(const fs::path& private_key_file,
                                                         std::string_view passphrase) {
  auto secret = crypto::load_key_file(private_key_file, passphrase, kKeyFilePurposeBackup);
  if (!secret.ok()) return std::move(secret).error();
  return crypto::X25519PrivateKey::from_bytes(secret->view());
}

}  // namespace casefile::server
