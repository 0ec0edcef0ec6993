// KeyringManifest: the organisation authority's statement of one epoch of a
// case's keyring (DESIGN §5): which devices received the epoch's case key,
// that the recovery key did too, the lowest envelope format new writes may
// use, and the hash of the previous epoch's manifest, so that the epochs form
// a chain the server cannot fork, roll back or reorder (docs/security.md,
// "Case keyrings").
//
// Canonical encoding, big-endian:
//   u8  version (1)
//   16  case id
//   u32 epoch (1 .. kMaxKeyringEpoch)
//   u8  minimum envelope format version (>= 1)
//   u64 issued_at (ms since the Unix epoch)
//   32  previous manifest hash: SHA-256 of the previous epoch's stored form
//       (all zeros for epoch 1)
//   32  case key commitment (sync/case_key_wrap.hpp): which key this epoch is
//   32  recovery key fingerprint: SHA-256 of the recovery X25519 public key
//   u16 member count (0 .. kMaxKeyringMembers), then 16 bytes per member
//       device id, strictly ascending, none the nil id
//   32  authority fingerprint
// The authority signs "casefile keyring manifest v1" || 0x00 || encoding.
// The stored form is encoding || 64-byte signature.
//
// Genesis: epoch 1 may instead be signed by the device that created the case
// (cases are created offline, where no admin can sign), over
// "casefile keyring genesis v1" || 0x00 || encoding, with exactly one member,
// that device; its authority fingerprint still names the organisation
// authority. Verifiers take the device's signing key from its authority-signed
// certificate, so the authority vouches for the signer; every later epoch is
// authority-signed, so neither the server nor a device can add a member.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "sync/ids.hpp"

namespace casefile::sync {

inline constexpr std::uint8_t kKeyringManifestVersion = 1;
inline constexpr std::string_view kKeyringManifestLabel = "casefile keyring manifest v1";
inline constexpr std::string_view kKeyringGenesisLabel = "casefile keyring genesis v1";
// The server's epoch bound (protocol.md §5: 1 .. 2^31-1).
inline constexpr std::uint32_t kMaxKeyringEpoch = 0x7fffffff;
// One wrap per member plus the recovery wrap fits the server's 4096 wraps.
inline constexpr std::size_t kMaxKeyringMembers = 4095;

struct KeyringManifest {
  std::uint8_t version = kKeyringManifestVersion;
  CaseId case_id;
  std::uint32_t epoch = 0;
  std::uint8_t minimum_envelope_version = 0;
  std::int64_t issued_at_ms = 0;
  crypto::Sha256Digest previous_manifest_hash{};
  crypto::Sha256Digest case_key_commitment{};
  crypto::Sha256Digest recovery_key_fingerprint{};
  std::vector<DeviceId> members;  // strictly ascending
  crypto::Sha256Digest authority_fingerprint{};
  crypto::Ed25519Signature signature{};

  friend bool operator==(const KeyringManifest&, const KeyringManifest&) = default;
};

// Errors: "keyring_manifest_invalid" naming the first rule broken: version,
// epoch outside 1..kMaxKeyringEpoch, minimum envelope version 0, issued_at
// negative, members unsorted, duplicated, nil or too many.
Status check_manifest_fields(const KeyringManifest& manifest);

// REQUIRES: check_manifest_fields(manifest).ok() (throws std::invalid_argument).
crypto::Bytes encode_manifest_body(const KeyringManifest& manifest);
crypto::Bytes manifest_signing_message(const KeyringManifest& manifest);

// Fills in the authority fingerprint and the signature.
// Errors: "keyring_manifest_invalid", the signer's.
Result<KeyringManifest> sign_manifest(KeyringManifest manifest, const crypto::Ed25519PrivateKey& authority);

// Errors, in this order: "keyring_wrong_authority" (the fingerprint names
// another key), "keyring_manifest_invalid" (fields), "keyring_signature_invalid".
Status verify_manifest(const KeyringManifest& manifest, crypto::ByteView authority_public_key);

// A device's certified Ed25519 signing key (from an authority-verified device
// certificate), or nullopt when the device is unknown to the caller.
using DeviceSigningKeyLookup = std::function<std::optional<crypto::Ed25519PublicKey>(const DeviceId&)>;

// "casefile keyring genesis v1" || 0x00 || body.
// REQUIRES: check_manifest_fields(manifest).ok() (throws std::invalid_argument).
crypto::Bytes genesis_signing_message(const KeyringManifest& manifest);

// Signs epoch 1 with the creating device's key. The caller sets
// authority_fingerprint (SHA-256 of the organisation authority's public key);
// it is kept. Errors: "keyring_manifest_invalid" (fields, an epoch other than
// 1, not exactly one member, or no authority fingerprint), the signer's.
Result<KeyringManifest> sign_genesis_manifest(KeyringManifest manifest,
                                              const crypto::Ed25519PrivateKey& device_signing_key);

// Errors, in this order: "keyring_wrong_authority", "keyring_manifest_invalid"
// (fields, an epoch other than 1, not exactly one member),
// "keyring_signature_invalid" (the signature is not the member's under the
// genesis label).
Status verify_genesis_manifest(const KeyringManifest& manifest, crypto::ByteView authority_public_key,
                               crypto::ByteView device_signing_public_key);

// The signature rule of a chain link: the authority's, or for epoch 1 with one
// member, that member's genesis signature, its key from `device_signing_key`.
// Errors: as verify_manifest; "keyring_signature_invalid" also for an unknown
// genesis signer (the lookup answers nullopt, or is empty).
Status verify_manifest_signer(const KeyringManifest& manifest, crypto::ByteView authority_public_key,
                              const DeviceSigningKeyLookup& device_signing_key);

// Stored form: body || signature. Decoding is strict: truncation, trailing
// bytes and every rule of check_manifest_fields are "keyring_manifest_invalid".
crypto::Bytes encode_manifest(const KeyringManifest& manifest);
Result<KeyringManifest> decode_manifest(crypto::ByteView bytes);

// SHA-256 of the stored form: what the next epoch names as its previous hash.
crypto::Sha256Digest manifest_hash(const KeyringManifest& manifest);

// The chain rules a device applies to the manifests the server hands it
// (GET /v1/keys/{case}, oldest first). `chain` is either the whole chain
// (starting at epoch 1) or, when `accepted_head` is given, the epochs after it.
// Every manifest must name `case_id` and pass verify_manifest_signer (the
// authority, or a genesis epoch 1 signed by its one member device); each
// must follow its predecessor by exactly one epoch and name its hash; the
// minimum envelope version never decreases. A whole chain must pass through
// `accepted_head` unchanged and reach at least its epoch. Returns the newest
// manifest, the new head. Errors: "keyring_wrong_authority",
// "keyring_signature_invalid", "keyring_manifest_invalid",
// "keyring_case_mismatch", "keyring_epoch_lower" (the chain stops below the
// accepted head, or continues it with an epoch at or below it),
// "keyring_chain_broken" (empty chain, a gap, a wrong previous hash, a first
// epoch that is not 1, or a fork of the accepted head),
// "keyring_format_lowered".
Result<KeyringManifest> verify_keyring_chain(const CaseId& case_id, std::span<const KeyringManifest> chain,
                                             crypto::ByteView authority_public_key,
                                             const DeviceSigningKeyLookup& device_signing_key,
                                             const std::optional<KeyringManifest>& accepted_head);

}  // namespace casefile::sync
