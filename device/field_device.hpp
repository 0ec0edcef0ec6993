// FieldDevice: the device library's front door. An app (or casefile-device)
// holds one per device directory, unlocked by the lawyer's passphrase.
//
//   auto device = device::FieldDevice::unlock(directory, passphrase);
//   if (!device.ok()) return device.error();     // wrong_passphrase, locked_out, ...
//   auto record = device->write(case_id, "interviews", std::nullopt,
//                               {{"held_on", "2026-11-27"}, {"notes", "..."}}, now_ms);
//
// The directory holds three files (docs/device.md):
//   storage.key  the device storage key, wrapped under scrypt(passphrase)
//   duress.key   a second key file, same format, wrapping a random marker under
//                the duress passphrase (or under a random passphrase nobody
//                knows, so its presence says nothing)
//   replica.db   the SQLCipher replica, keyed by the storage key: records,
//                outbox, quarantine, and the device profile (its keys,
//                server, certificate, case keys, cached certificates).
//   unlock.state clear counter of consecutive failed unlocks and the lock-out
//                limit (a deterrent against guessing through the app; a
//                copied directory is protected by scrypt alone).
//
// Threading: one FieldDevice is used by one thread at a time; sync runs on the
// caller's thread (device/sync_client.hpp). Not copyable; movable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/key_file.hpp"
#include "crypto/secret_bytes.hpp"
#include "crypto/x25519.hpp"
#include "device/change_archive.hpp"
#include "device/device_profile.hpp"
#include "device/sealed_value.hpp"
#include "device/sqlcipher_replica_store.hpp"
#include "sync/case_keyring.hpp"
#include "sync/device_certificate.hpp"
#include "sync/ids.hpp"
#include "sync/keyring_manifest.hpp"
#include "sync/replica.hpp"

namespace casefile::device {

// ServerEndpoint, EnrolmentState, DeviceProfile: device/device_profile.hpp.
// PlainValue, PlainFields: device/sealed_value.hpp.

// One value of a field as read: the plaintext when the device could open it.
struct ValueRead {
  PlainValue value;
  bool sealed = false;
  // Set when a sealed value cannot be opened here (no key for its epoch,
  // or the envelope does not open): "case_key_missing", "decrypt_failed".
  std::string unreadable;
  // The case-key epoch a sealed value claims (its envelope's); 0 when clear.
  std::uint32_t epoch = 0;
  sync::DeviceId author;
  std::uint64_t author_sequence = 0;
  std::uint64_t hlc_wall_millis = 0;
};

struct FieldRead {
  std::string name;
  ValueRead winner;                 // what to show: highest HLC, then device id
  std::vector<ValueRead> siblings;  // every live value, winner included; >1 means in conflict
  bool in_conflict() const { return siblings.size() > 1; }
};

struct RecordRead {
  sync::RecordKey key;
  std::vector<FieldRead> fields;  // by name
  bool deleted = false;
  bool edit_delete_conflict = false;
};

struct DeviceStatus {
  sync::DeviceId device_id;
  EnrolmentState state = EnrolmentState::not_enrolled;
  std::uint64_t outbox_depth = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t records = 0;
  std::uint64_t fields_in_conflict = 0;
  std::optional<std::int64_t> last_sync_ms;  // last sync that completed
};

// Epoch 1 of a case this device created, for PUT /v1/keys/{case}/epochs/1:
// the manifest (members = this device) signed under the genesis label with
// the device's signing key, and the case key wrapped to this device and to
// the recovery key (under kRecoveryRecipient).
struct GenesisEpoch {
  sync::KeyringManifest manifest;
  std::vector<sync::RecipientWrap> wraps;
};

// Re-encryption of one case (FieldDevice::reencrypt_case).
struct ReencryptProgress {
  std::uint64_t records_done = 0;  // records looked at so far
  std::uint64_t records_total = 0;
};
// Called after each committed batch; returning false stops the pass after
// that batch ("reencrypt_cancelled"); running it again resumes.
using ReencryptProgressCallback = std::function<bool(const ReencryptProgress&)>;

struct ReencryptReport {
  std::uint32_t epoch = 0;               // the head epoch values were sealed under
  std::uint64_t records = 0;             // records of the case looked at
  std::uint64_t records_rewritten = 0;   // records that got a change
  std::uint64_t values_rewritten = 0;    // sealed values re-sealed under `epoch`
  std::uint64_t values_current = 0;      // sealed values already under `epoch`
  std::uint64_t fields_in_conflict = 0;  // skipped: a person resolves them first
  std::uint64_t values_unreadable = 0;   // skipped: no key for their epoch here, or they do not open
  std::uint64_t records_immutable = 0;   // skipped: finalized or final on creation (write an amendment)
};

struct CreateOptions {
  // Empty: no duress passphrase (duress.key then wraps under a random one).
  std::string duress_passphrase;
  // 0: never. N: the Nth consecutive wrong passphrase destroys storage.key.
  std::uint32_t lockout_after = 0;
  // Lower only in tests (key_file accepts N from 2^17).
  crypto::ScryptParameters scrypt = crypto::kKeyFileDefaultParameters;
};

class FieldDevice {
 public:
  // Makes a new device in `directory` (created if absent; refused with
  // "device_exists" if it holds a storage.key): fresh storage key, device id,
  // Ed25519 signing and X25519 wrapping keys, an empty replica.
  static Result<FieldDevice> create(const std::filesystem::path& directory, std::string_view passphrase,
                                    const CreateOptions& options = {});

  // Errors: "not_initialised" (no device here), "wrong_passphrase" (message
  // says how many attempts remain when a lock-out is set), "locked_out" (the
  // limit was reached: storage.key is destroyed and the replica is unreadable
  // for good), the replica's open errors. The duress passphrase succeeds: it
  // destroys storage.key and the replica, and opens a brand-new empty device
  // in their place, indistinguishable from one just created.
  static Result<FieldDevice> unlock(const std::filesystem::path& directory, std::string_view passphrase);

  FieldDevice(FieldDevice&&) noexcept;
  FieldDevice& operator=(FieldDevice&&) noexcept;
  ~FieldDevice();

  const std::filesystem::path& directory() const;
  const DeviceProfile& profile() const;
  const crypto::Ed25519PrivateKey& signing_key() const;
  const crypto::X25519PrivateKey& wrapping_key() const;

  // --- Profile (called by device/enrolment and device/sync_client) ---
  // Stores the server endpoint and authority fingerprint; state -> pending.
  Status begin_enrolment(const ServerEndpoint& server, const crypto::Sha256Digest& authority_fingerprint);
  // Verifies `certificate` (its keys must be this device's, its authority
  // fingerprint the enrolled one, SHA-256(authority_key) that fingerprint)
  // and stores both; state -> certified. Errors: "certificate_invalid",
  // "certificate_wrong_authority", "certificate_not_mine", "certificate_expired".
  Status record_certificate(const sync::DeviceCertificate& certificate,
                            const crypto::Ed25519PublicKey& authority_key, std::int64_t now_ms);
  // Replaces the pinned server key: from a verified TLS pin statement, or
  // after connecting under its announced next pin (device/tls_pins.hpp).
  Status set_server_pin(const crypto::Sha256Digest& pin);
  // The signing key of a certified author, from the certificate cache.
  std::optional<crypto::Ed25519PublicKey> author_key(const sync::DeviceId& author);
  // Verifies (against the authority key) and caches another device's
  // certificate. Errors: as record_certificate's verification.
  Status cache_certificate(const sync::DeviceCertificate& certificate);
  // The bearer token from the last sign-in, if it has not expired at `now_ms`.
  std::optional<std::string> session_token(std::int64_t now_ms);
  Status store_session_token(const std::string& token, std::int64_t expires_at_ms);
  Status record_sync_completed(std::int64_t now_ms);

  // --- Cases and records ---
  // A new case: random case id, a fresh epoch-1 case key kept in the replica,
  // and the case's `cases` record (record id = case id) written with `fields`.
  Result<sync::CaseId> create_case(const PlainFields& fields, std::int64_t now_ms);
  // Writes fields of a record (record_id nullopt: a new record with a random
  // id). Validates at ValidationLevel::device against the current schema
  // (overlaying the record as this replica shows it), seals sealed fields
  // under the write epoch, and records one change (replica + outbox, one
  // transaction). The write epoch is the accepted keyring head's, and only
  // that: "case_key_unavailable" when this device does not hold it (a device
  // the head excluded must not write under older epochs it still holds).
  // Before a case's first keyring (created here, genesis not yet uploaded) it
  // is the newest key held. Errors: the schema's codes, "case_key_missing"
  // (no key of the case at all), "case_key_unavailable", "record_unknown",
  // the store's.
  Result<sync::RecordKey> write(const sync::CaseId& case_id, std::string_view collection,
                                std::optional<sync::RecordId> record_id, const PlainFields& fields,
                                std::int64_t now_ms);
  // Writes a new record under a chosen id (an attachment's id is bound into
  // its ciphertext before the record exists) like write(), and runs
  // `same_transaction` (statements on store().database()) in the same SQLite
  // transaction: both are committed or neither. Errors: write()'s,
  // "record_exists", same_transaction's.
  Result<sync::RecordKey> create_record_with(const sync::RecordKey& record, const PlainFields& fields,
                                             std::int64_t now_ms,
                                             const std::function<Status()>& same_transaction);
  // Sets status=finalized and finalized_at=now on an interview or consent.
  Status finalize(const sync::RecordKey& record, std::int64_t now_ms);
  // A new `amendments` record pointing at a finalized interview or consent.
  Result<sync::RecordKey> amend(const sync::RecordKey& target, const PlainFields& fields,
                                std::int64_t now_ms);
  // Resolves a field in conflict: one write superseding every sibling.
  Status resolve(const sync::RecordKey& record, std::string_view field, const PlainValue& value,
                 std::int64_t now_ms);

  Result<std::vector<sync::RecordKey>> list_records(std::optional<sync::CaseId> case_id = std::nullopt);
  Result<RecordRead> read(const sync::RecordKey& record);  // decrypts in memory only
  Result<std::vector<RecordRead>> conflicts();             // records needing resolution
  Result<std::vector<sync::QuarantinedChange>> quarantine();
  Result<DeviceStatus> status();

  // Re-seals, under the case's head epoch, every sealed value whose epoch is
  // older, as ordinary changes (replica + outbox: they sync like any edit).
  // Skips fields in conflict, values already at the head, values it cannot
  // open, and records that cannot change (finalized). Commits `batch_records`
  // records per transaction, so a crash loses at most the batch in progress
  // and never half a record; running it again resumes (idempotent once done).
  // Errors: "case_key_unavailable" (the head epoch's key is not held here),
  // "keyring_head_missing" (no accepted head: sync first),
  // "reencrypt_cancelled", "invalid_argument", the store's.
  Result<ReencryptReport> reencrypt_case(const sync::CaseId& case_id,
                                         const ReencryptProgressCallback& progress, std::int64_t now_ms,
                                         std::size_t batch_records = 500);

  // --- Case keys and keyrings (docs/device.md "Case keyrings") ---
  // Stores one epoch's key without a manifest (tests and the creating device).
  Status store_case_key(const sync::CaseId& case_id, std::uint32_t epoch, const crypto::SecretBytes& key);
  std::vector<sync::CaseId> cases_with_keys();

  // The newest keyring manifest this device accepted for the case; nullopt
  // before its first keyring (a case created here whose genesis is not yet
  // uploaded, or one never synced).
  Result<std::optional<sync::KeyringManifest>> keyring_head(const sync::CaseId& case_id);
  // Verifies the case's whole chain as GET /v1/keys/{case} gives it
  // (CaseKeyring::open: against the authority key and the accepted head;
  // genesis signers from the certificate cache, author_key()), then stores
  // the keys it opens and its head as the accepted head, in one transaction.
  // Nothing is stored on error. Errors: "not_certified", CaseKeyring::open's
  // ("keyring_epoch_lower", "keyring_chain_broken", "keyring_format_lowered",
  // "keyring_signature_invalid", "keyring_case_mismatch",
  // "case_key_unwrap_failed", ...), "case_key_conflict", the store's.
  Result<sync::CaseKeyring> accept_keyring(const sync::CaseId& case_id,
                                           std::span<const sync::KeyringEpochEntry> entries);
  // Cases created here whose keyring has no accepted head yet: their genesis
  // epoch is still to upload (ascending).
  Result<std::vector<sync::CaseId>> cases_awaiting_genesis();
  // Epoch 1 of such a case. Errors: "not_certified", "recovery_key_missing"
  // (record_recovery_key first), "case_key_missing", the signer's.
  Result<GenesisEpoch> prepare_genesis(const sync::CaseId& case_id, std::int64_t now_ms);
  // Verifies the authority's recovery key statement (sync/) and keeps the
  // key. Errors: "not_certified", "recovery_key_invalid", the store's.
  Status record_recovery_key(const crypto::X25519PublicKey& recovery_public_key,
                             const crypto::Ed25519Signature& statement_signature);
  // The wrapping key of a certified device, from the certificate cache.
  std::optional<crypto::X25519PublicKey> certified_wrapping_key(const sync::DeviceId& device);
  // The sync round shared the held epochs with the head's members.
  Status mark_held_epochs_shared(const sync::CaseId& case_id);
  // Cases with an accepted head: head epoch, and whether that is done.
  Result<std::vector<KeyringHeadSummary>> keyring_heads();

  // --- Sync plumbing (device/sync_client.hpp) ---
  sync::Replica& replica();
  SqlcipherReplicaStore& store();
  ChangeArchive& archive();
  // Runs `steps` (replica commits, archive writes) as one transaction: all of
  // them land or none. On failure the replica is reopened from the file.
  Status commit_together(const std::function<Status()>& steps);
  // Removes every record, outbox change, case key and the keyring head of a
  // case this device may no longer read (its user's membership was removed).
  Status purge_case(const sync::CaseId& case_id);
  // Obeys a verified wipe order: destroys storage.key, duress.key and the
  // replica files (overwritten, then unlinked). The object is unusable after.
  Status wipe();

  // --- Keys ---
  // Re-wraps the storage key under a new passphrase (the replica is untouched).
  Status change_passphrase(std::string_view old_passphrase, std::string_view new_passphrase);
  // Re-keys the replica under a fresh storage key (SQLCipher rekey), crash-safe.
  Status rotate_storage_key(std::string_view passphrase);

 private:
  struct State;
  explicit FieldDevice(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace casefile::device
