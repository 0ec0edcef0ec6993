// A casefiled instance on disk: the directory `make run` creates in ./var and
// the server reads at start. docs/instance.md lists every file and its mode.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/x25519.hpp"

namespace casefile::server {

// The files of an instance, relative to its directory.
struct InstanceLayout {
  explicit InstanceLayout(std::filesystem::path root) : root(std::move(root)) {}

  std::filesystem::path root;
  std::filesystem::path config() const { return root / "casefiled.toml"; }
  std::filesystem::path database() const { return root / "casefile.db"; }
  std::filesystem::path database_key() const { return root / "database.key"; }
  std::filesystem::path tls_certificate() const { return root / "tls" / "server.crt"; }
  std::filesystem::path tls_private_key() const { return root / "tls" / "server.key"; }
  std::filesystem::path authority_key() const { return root / "org" / "authority.key"; }
  std::filesystem::path authority_public_key() const { return root / "org" / "authority.pub"; }
  std::filesystem::path recovery_key() const { return root / "org" / "recovery.key"; }
  std::filesystem::path recovery_public_key() const { return root / "org" / "recovery.pub"; }
  // The authority's signature of the recovery public key, hex
  // (sync/recovery_key_statement.hpp); missing in instances made before it.
  std::filesystem::path recovery_key_signature() const { return root / "org" / "recovery.sig"; }
  // Present only when the admin passphrase was generated for an unattended
  // first start (make run); docs/instance.md tells the admin to move it offline.
  std::filesystem::path generated_admin_passphrase() const { return root / "admin-passphrase"; }
};

inline constexpr std::string_view kKeyFilePurposeOrgRecovery = "org-recovery";

struct InstanceRequest {
  std::filesystem::path root;
  std::string admin_passphrase;         // wraps the authority and recovery keys
  bool store_admin_passphrase = false;  // write it to generated_admin_passphrase()
  std::string listen_address = "127.0.0.1";
  unsigned short listen_port = 8443;
};

// What an admin needs to see once an instance exists.
struct InstanceSummary {
  std::filesystem::path root;
  crypto::Sha256Digest tls_spki_pin{};  // devices pin this at enrolment
  crypto::Ed25519PublicKey authority_public_key{};
  crypto::Sha256Digest authority_fingerprint{};  // SHA-256 of the authority public key
  crypto::X25519PublicKey recovery_public_key{};
  std::string listen_url;  // set by create_instance only
};

// Creates every file of a new instance in a temporary sibling directory and
// renames it into place, so a crash leaves either no instance or a whole one.
// Errors: "instance_exists", "invalid_argument", "io_error", and any crypto error.
Result<InstanceSummary> create_instance(const InstanceRequest& request);

// Reads the public parts of an existing instance. Errors: "no_instance",
// "corrupt_instance", "io_error".
Result<InstanceSummary> describe_instance(const std::filesystem::path& root);

bool instance_exists(const std::filesystem::path& root);

// The recovery public key and the authority's signature of it, as GET
// /v1/authority serves them.
struct RecoveryKeyStatement {
  crypto::X25519PublicKey public_key{};
  crypto::Ed25519Signature signature{};
};

// Reads recovery.pub and recovery.sig from `org_directory` (the directory of
// authority.pub) and verifies the signature under `authority`. nullopt when
// recovery.sig does not exist yet. Errors: "corrupt_instance" (malformed, or
// a signature that does not verify), "io_error".
Result<std::optional<RecoveryKeyStatement>> read_recovery_key_statement(
    const std::filesystem::path& org_directory, const crypto::Ed25519PublicKey& authority);

// Writes org/recovery.sig when it is missing (instances made before it), signed
// by `authority`, which must be the instance's. Returns whether it wrote.
// Errors: "corrupt_instance", "io_error", the signer's.
Result<bool> ensure_recovery_key_statement(const std::filesystem::path& root,
                                           const crypto::Ed25519PrivateKey& authority);

}  // namespace casefile::server
