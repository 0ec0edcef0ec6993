// DeviceProfileStore: the device's own tables in its replica file (migration
// 2 of device/internal/replica_migrations.cpp): its identity and private keys,
// enrolment, server endpoint, authority, certificate, the certificate cache
// of other devices, the session token, case keys and the last completed sync;
// and (migration 3) each case's accepted keyring head and the organisation's
// recovery public key.
//
// The file is encrypted under the storage key, so the private keys rest
// encrypted; they are read into crypto::SecretBytes only. Borrows the
// replica's connection; used by one thread at a time.
//
// Errors: "store_unavailable" (message starts with the storage layer's code),
// "profile_missing" (the file has no device profile), "profile_corrupt"
// (a stored row does not decode).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/secret_bytes.hpp"
#include "crypto/x25519.hpp"
#include "device/device_profile.hpp"
#include "schema/database.hpp"
#include "sync/device_certificate.hpp"
#include "sync/ids.hpp"
#include "sync/keyring_manifest.hpp"

namespace casefile::device {

// The profile and the device's private keys, as loaded.
struct StoredProfile {
  DeviceProfile profile;
  crypto::Ed25519PrivateKey signing_key;
  crypto::X25519PrivateKey wrapping_key;
};

struct CaseKey {
  std::uint32_t epoch = 0;
  crypto::SecretBytes key;  // 32 bytes
};

struct SessionToken {
  std::string token;
  std::int64_t expires_at_ms = 0;
};

class DeviceProfileStore {
 public:
  // `database` must outlive the store.
  explicit DeviceProfileStore(schema::Database& database) : database_(&database) {}

  // Writes the profile row of a new device. Errors: "profile_exists".
  Status initialise(const sync::DeviceId& device_id, const crypto::Ed25519PrivateKey& signing_key,
                    const crypto::X25519PrivateKey& wrapping_key);
  Result<StoredProfile> load();

  // Sets server and authority fingerprint, state pending, and forgets any
  // earlier authority key, certificate and session.
  Status save_enrolment(const ServerEndpoint& server, const crypto::Sha256Digest& authority_fingerprint);
  // Sets authority key and certificate, state certified.
  Status save_certificate(const sync::DeviceCertificate& certificate,
                          const crypto::Ed25519PublicKey& authority_key);

  // Replaces the pinned server key (device/tls_pins.hpp).
  Status save_server_pin(const crypto::Sha256Digest& pin);

  Status save_session(const SessionToken& session);
  Result<std::optional<SessionToken>> load_session();
  Status save_last_sync(std::int64_t completed_at_ms);
  Result<std::optional<std::int64_t>> load_last_sync();

  // Another device's certificate (replacing any earlier one of that device).
  // REQUIRES: the caller verified it.
  Status cache_certificate(const sync::DeviceCertificate& certificate);
  Result<std::optional<sync::DeviceCertificate>> cached_certificate(const sync::DeviceId& device);

  // Errors: "case_key_conflict" (this epoch is stored with another key),
  // "invalid_argument" (epoch 0 or a key not 32 bytes).
  Status store_case_key(const sync::CaseId& case_id, std::uint32_t epoch, const crypto::SecretBytes& key);
  Result<std::optional<CaseKey>> newest_case_key(const sync::CaseId& case_id);
  Result<std::optional<crypto::SecretBytes>> case_key(const sync::CaseId& case_id, std::uint32_t epoch);
  Result<std::vector<sync::CaseId>> cases_with_keys();
  // Deletes the case's keys and its keyring head, in one transaction.
  Status delete_case_keys(const sync::CaseId& case_id);

  // REQUIRES: the caller verified the statement (FieldDevice::record_recovery_key).
  Status save_recovery_public_key(const crypto::X25519PublicKey& recovery_public_key);

  // The keyring of a case as verified: every key in `keys` (epoch -> key) and
  // `head` as the accepted head, whose held_epochs_shared starts at 0, in one
  // transaction; the same head again keeps its held_epochs_shared.
  // REQUIRES: the caller verified the chain through the old head.
  // Errors: store_case_key's.
  Status store_keyring(const sync::KeyringManifest& head, const std::vector<CaseKey>& keys);
  Result<std::optional<sync::KeyringManifest>> keyring_head(const sync::CaseId& case_id);
  // Every case with an accepted head, by case id.
  Result<std::vector<KeyringHeadSummary>> keyring_heads();
  // Errors: "keyring_head_missing" (no head for the case).
  Status mark_held_epochs_shared(const sync::CaseId& case_id);

 private:
  schema::Database* database_;
};

}  // namespace casefile::device
