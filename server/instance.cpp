#include "server/instance.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <system_error>

#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "crypto/tls_identity.hpp"
#include "sync/recovery_key_statement.hpp"

namespace casefile::server {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kDatabaseKeySize = 32;
constexpr std::size_t kMaxPublicFileSize = 64 * 1024;

Error io_error(const fs::path& path, const std::string& what) {
  return make_error("io_error", what + ": " + path.string());
}

// Writes `contents` to a new file with `mode` and fsyncs it. The file must not exist.
Status write_new_file(const fs::path& path, crypto::ByteView contents, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return io_error(path, "cannot create");
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return io_error(path, "cannot write");
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) return io_error(path, "cannot sync");
  return ok_status();
}

Status write_new_text(const fs::path& path, std::string_view text, mode_t mode) {
  return write_new_file(path, crypto::as_bytes(text), mode);
}

Status sync_directory(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(path, "cannot open directory");
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced ? ok_status() : Status(io_error(path, "cannot sync directory"));
}

Result<std::string> read_small_text(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) return make_error("corrupt_instance", "missing file: " + path.string());
  if (size > kMaxPublicFileSize) return make_error("corrupt_instance", "file too large: " + path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path, "cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> read_hex_key(const fs::path& path) {
  auto text = read_small_text(path);
  if (!text.ok()) return std::move(text).error();
  std::string hex = *text;
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  crypto::Bytes bytes;
  if (!crypto::from_hex(hex, bytes) || bytes.size() != N) {
    return make_error("corrupt_instance", "not a " + std::to_string(N) + "-byte hex key: " + path.string());
  }
  std::array<std::uint8_t, N> key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

std::string config_text(const InstanceRequest& request) {
  std::ostringstream out;
  out << "# casefiled configuration (docs/instance.md). Paths are relative to this file.\n"
      << "listen_address = \"" << request.listen_address << "\"\n"
      << "listen_port = " << request.listen_port << "\n"
      << "database = \"casefile.db\"\n"
      << "database_key_file = \"database.key\"\n"
      << "tls_certificate = \"tls/server.crt\"\n"
      << "tls_private_key = \"tls/server.key\"\n"
      << "authority_public_key = \"org/authority.pub\"\n";
  return out.str();
}

std::string listen_url(const std::string& address, unsigned short port) {
  const bool ipv6 = address.find(':') != std::string::npos;
  return "https://" + (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// Writes every file of the instance into `directory`, which is new and empty.
Result<InstanceSummary> populate(const fs::path& directory, const InstanceRequest& request) {
  const InstanceLayout layout(directory);
  std::error_code error;
  fs::create_directory(directory / "tls", error);
  if (!error) fs::create_directory(directory / "org", error);
  if (error) return io_error(directory, "cannot create subdirectories");

  InstanceSummary summary;
  summary.root = request.root;
  summary.listen_url = listen_url(request.listen_address, request.listen_port);

  // The server must restart unattended, so its database key is protected by
  // file permissions, like the TLS key (docs/instance.md explains the choice).
  auto database_key = crypto::random_secret(kDatabaseKeySize);
  if (!database_key.ok()) return std::move(database_key).error();
  CASEFILE_RETURN_IF_ERROR(
      write_new_text(layout.database_key(), crypto::to_hex(database_key->view()) + "\n", 0600));

  crypto::SelfSignedRequest tls_request;
  tls_request.common_name = "casefiled";
  tls_request.dns_names = {"localhost"};
  tls_request.ip_addresses = {request.listen_address};
  auto identity = crypto::generate_self_signed_identity(tls_request);
  if (!identity.ok()) return std::move(identity).error();
  CASEFILE_RETURN_IF_ERROR(write_new_file(layout.tls_private_key(), identity->private_key_pem.view(), 0600));
  CASEFILE_RETURN_IF_ERROR(write_new_text(layout.tls_certificate(), identity->certificate_pem, 0644));
  auto pin = crypto::spki_sha256_pin(identity->certificate_pem);
  if (!pin.ok()) return std::move(pin).error();
  summary.tls_spki_pin = *pin;

  auto authority = crypto::Ed25519PrivateKey::generate();
  if (!authority.ok()) return std::move(authority).error();
  CASEFILE_RETURN_IF_ERROR(crypto::save_key_file(layout.authority_key(), authority->seed().view(),
                                                 request.admin_passphrase,
                                                 crypto::kKeyFilePurposeOrgAuthority));
  summary.authority_public_key = authority->public_key();
  summary.authority_fingerprint = crypto::sha256(summary.authority_public_key);
  CASEFILE_RETURN_IF_ERROR(write_new_text(layout.authority_public_key(),
                                          crypto::to_hex(summary.authority_public_key) + "\n", 0644));

  auto recovery = crypto::X25519PrivateKey::generate();
  if (!recovery.ok()) return std::move(recovery).error();
  CASEFILE_RETURN_IF_ERROR(crypto::save_key_file(layout.recovery_key(), recovery->private_bytes().view(),
                                                 request.admin_passphrase, kKeyFilePurposeOrgRecovery));
  summary.recovery_public_key = recovery->public_key();
  CASEFILE_RETURN_IF_ERROR(
      write_new_text(layout.recovery_public_key(), crypto::to_hex(summary.recovery_public_key) + "\n", 0644));
  auto statement = sync::sign_recovery_key_statement(summary.recovery_public_key, *authority);
  if (!statement.ok()) return std::move(statement).error();
  CASEFILE_RETURN_IF_ERROR(
      write_new_text(layout.recovery_key_signature(), crypto::to_hex(*statement) + "\n", 0644));

  if (request.store_admin_passphrase) {
    CASEFILE_RETURN_IF_ERROR(
        write_new_text(layout.generated_admin_passphrase(), request.admin_passphrase + "\n", 0600));
  }
  // The config is written last: its presence is what marks an instance as whole.
  CASEFILE_RETURN_IF_ERROR(write_new_text(layout.config(), config_text(request), 0644));
  CASEFILE_RETURN_IF_ERROR(sync_directory(directory / "tls"));
  CASEFILE_RETURN_IF_ERROR(sync_directory(directory / "org"));
  CASEFILE_RETURN_IF_ERROR(sync_directory(directory));
  return summary;
}

}  // namespace

bool instance_exists(const fs::path& root) {
  std::error_code error;
  return fs::exists(InstanceLayout(root).config(), error);
}

Result<InstanceSummary> create_instance(const InstanceRequest& request) {
  if (request.root.empty()) return make_error("invalid_argument", "instance directory is empty");
  if (request.admin_passphrase.size() < 12) {
    return make_error("invalid_argument", "the admin passphrase must have at least 12 characters");
  }
  std::error_code error;
  if (fs::exists(request.root, error)) {
    if (!fs::is_directory(request.root, error) || !fs::is_empty(request.root, error)) {
      return make_error("instance_exists", "refusing to overwrite " + request.root.string());
    }
    fs::remove(request.root, error);
  }
  const fs::path parent = fs::absolute(request.root, error).parent_path();
  fs::create_directories(parent, error);
  if (error) return io_error(parent, "cannot create parent directory");

  auto suffix = crypto::random_bytes(6);
  if (!suffix.ok()) return std::move(suffix).error();
  const fs::path staging =
      parent / ("." + request.root.filename().string() + ".creating-" + crypto::to_hex(*suffix));
  if (::mkdir(staging.c_str(), 0700) != 0) return io_error(staging, "cannot create directory");

  auto summary = populate(staging, request);
  if (!summary.ok()) {
    fs::remove_all(staging, error);
    return summary;
  }
  if (::rename(staging.c_str(), fs::absolute(request.root).c_str()) != 0) {
    fs::remove_all(staging, error);
    return io_error(request.root, "cannot move the new instance into place");
  }
  CASEFILE_RETURN_IF_ERROR(sync_directory(parent));
  return summary;
}

Result<InstanceSummary> describe_instance(const fs::path& root) {
  if (!instance_exists(root)) return make_error("no_instance", "no instance at " + root.string());
  const InstanceLayout layout(root);
  InstanceSummary summary;
  summary.root = root;

  auto certificate = read_small_text(layout.tls_certificate());
  if (!certificate.ok()) return std::move(certificate).error();
  auto pin = crypto::spki_sha256_pin(*certificate);
  if (!pin.ok()) return make_error("corrupt_instance", "unreadable TLS certificate: " + pin.error().message);
  summary.tls_spki_pin = *pin;

  auto authority = read_hex_key<crypto::kEd25519PublicKeySize>(layout.authority_public_key());
  if (!authority.ok()) return std::move(authority).error();
  summary.authority_public_key = *authority;
  summary.authority_fingerprint = crypto::sha256(summary.authority_public_key);

  auto recovery = read_hex_key<crypto::kX25519KeySize>(layout.recovery_public_key());
  if (!recovery.ok()) return std::move(recovery).error();
  summary.recovery_public_key = *recovery;
  return summary;
}

Result<std::optional<RecoveryKeyStatement>> read_recovery_key_statement(
    const fs::path& org_directory, const crypto::Ed25519PublicKey& authority) {
  const fs::path signature_file = org_directory / "recovery.sig";
  std::error_code error;
  if (!fs::exists(signature_file, error)) {
    if (error) return io_error(signature_file, "cannot stat");
    return std::optional<RecoveryKeyStatement>();
  }
  auto public_key = read_hex_key<crypto::kX25519KeySize>(org_directory / "recovery.pub");
  if (!public_key.ok()) return std::move(public_key).error();
  auto signature = read_hex_key<crypto::kEd25519SignatureSize>(signature_file);
  if (!signature.ok()) return std::move(signature).error();
  if (!sync::verify_recovery_key_statement(*public_key, *signature, authority).ok()) {
    return make_error("corrupt_instance",
                      "org/recovery.sig is not the authority's signature of org/recovery.pub");
  }
  return std::optional<RecoveryKeyStatement>(RecoveryKeyStatement{*public_key, *signature});
}

Result<bool> ensure_recovery_key_statement(const fs::path& root, const crypto::Ed25519PrivateKey& authority) {
  const InstanceLayout layout(root);
  auto existing = read_recovery_key_statement(layout.root / "org", authority.public_key());
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return false;
  auto public_key = read_hex_key<crypto::kX25519KeySize>(layout.recovery_public_key());
  if (!public_key.ok()) return std::move(public_key).error();
  auto signature = sync::sign_recovery_key_statement(*public_key, authority);
  if (!signature.ok()) return std::move(signature).error();
  CASEFILE_RETURN_IF_ERROR(
      write_new_text(layout.recovery_key_signature(), crypto::to_hex(*signature) + "\n", 0644));
  CASEFILE_RETURN_IF_ERROR(sync_directory(layout.root / "org"));
  return true;
}

}  // namespace casefile::server
