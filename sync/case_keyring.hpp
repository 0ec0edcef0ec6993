// CaseKeyring: what one device holds of one case's keys (epoch -> case key),
// built from what GET /v1/keys/{case} returns (protocol.md §5) by verifying
// the manifest chain and opening the device's own wraps. And the pure half of
// a rotation: the next manifest for the authority to sign, and its wraps.
//
// Rotation is eager for keys and lazy for data (DESIGN §5): a new epoch costs
// one wrap per member device plus one recovery wrap, whatever the number of
// records; old values stay readable under the old epochs a device holds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"
#include "crypto/x25519.hpp"
#include "sync/ids.hpp"
#include "sync/keyring_manifest.hpp"

namespace casefile::sync {

// One epoch as the server hands it to a device.
struct KeyringEpochEntry {
  std::uint32_t epoch = 0;
  crypto::Bytes manifest;             // stored form (encode_manifest)
  std::optional<crypto::Bytes> wrap;  // the device's own wrap; nullopt: not a recipient
};

// A recipient's X25519 public key: a member device's (from its certificate),
// or the recovery key under kRecoveryRecipient.
struct RecipientKey {
  DeviceId recipient;
  crypto::X25519PublicKey public_key{};
};

struct RecipientWrap {
  DeviceId recipient;
  crypto::Bytes wrap;

  friend bool operator==(const RecipientWrap&, const RecipientWrap&) = default;
};

struct EpochWrap {
  std::uint32_t epoch = 0;
  crypto::Bytes wrap;
};

class CaseKeyring {
 public:
  // Decodes every manifest, applies verify_keyring_chain (the whole chain,
  // checked against `accepted_head` when the device has one; a genesis epoch
  // 1's signer found through `device_signing_key`), then opens each
  // wrap addressed to `self` and keeps the key only if it is the one its
  // manifest commits to. `self` is a device id, or kRecoveryRecipient with the
  // recovery private key. Errors: decode_manifest's and
  // verify_keyring_chain's; "keyring_chain_broken" (an entry's epoch is not
  // its manifest's); "case_key_unwrap_failed" (a wrap that does not open, or
  // opens to a key its manifest does not commit to: a substituted key).
  static Result<CaseKeyring> open(const CaseId& case_id, std::span<const KeyringEpochEntry> entries,
                                  crypto::ByteView authority_public_key,
                                  const DeviceSigningKeyLookup& device_signing_key, const DeviceId& self,
                                  const crypto::X25519PrivateKey& wrapping_key,
                                  const std::optional<KeyringManifest>& accepted_head = std::nullopt);

  const CaseId& case_id() const { return head_.case_id; }
  // The newest verified manifest: what the device stores as its accepted head.
  const KeyringManifest& head() const { return head_; }
  // Ascending epochs whose key this device holds.
  std::vector<std::uint32_t> held_epochs() const;
  // The case key of `epoch`, for opening values sealed under it.
  // Errors: "case_key_unavailable".
  Result<crypto::ByteView> key(std::uint32_t epoch) const;
  // The epoch new writes use: the head's, and only that. A device that cannot
  // open the head epoch must not write under an older one, which devices the
  // head excluded (revoked) still hold. Errors: "case_key_unavailable".
  Result<std::uint32_t> write_epoch() const;

  // Adding a member: every held epoch wrapped to `recipient`, ascending.
  // Errors: wrap_case_key's.
  Result<std::vector<EpochWrap>> wrap_held_epochs(const DeviceId& recipient,
                                                  const crypto::X25519PublicKey& recipient_public_key) const;

 private:
  CaseKeyring(KeyringManifest head, std::map<std::uint32_t, crypto::SecretBytes> keys)
      : head_(std::move(head)), keys_(std::move(keys)) {}
  KeyringManifest head_;
  std::map<std::uint32_t, crypto::SecretBytes> keys_;
};

// The next epoch, unsigned, with its key and who must receive it.
struct RotationPlan {
  KeyringManifest manifest;          // for sign_manifest; may raise minimum_envelope_version first
  crypto::SecretBytes case_key;      // the new epoch's key
  std::vector<DeviceId> recipients;  // the members, ascending, then kRecoveryRecipient
};

// Epoch current.epoch + 1 for `members` (any order; duplicates collapse),
// naming manifest_hash(current), keeping its minimum envelope version and
// recovery key, committing to `new_case_key` (a fresh random 32-byte key).
// Errors: "invalid_key" (key not 32 bytes), "keyring_epoch_exhausted",
// "keyring_manifest_invalid" (the nil id or too many members).
Result<RotationPlan> plan_rotation(const KeyringManifest& current, std::vector<DeviceId> members,
                                   crypto::SecretBytes new_case_key, std::int64_t issued_at_ms);

// Epoch 1 of a new case. Errors: as plan_rotation, and
// "keyring_manifest_invalid" (minimum envelope version 0).
Result<RotationPlan> plan_first_epoch(const CaseId& case_id, std::vector<DeviceId> members,
                                      const crypto::X25519PublicKey& recovery_public_key,
                                      std::uint8_t minimum_envelope_version, crypto::SecretBytes case_key,
                                      std::int64_t issued_at_ms);

// One wrap per planned recipient, in plan order. `keys` must hold a key for
// each (extra keys are ignored). Errors: "keyring_recipient_unknown" (a
// recipient without a key), "keyring_recovery_key_mismatch" (the recovery key
// is not the one the manifest names), wrap_case_key's.
Result<std::vector<RecipientWrap>> wrap_rotation(const RotationPlan& plan,
                                                 std::span<const RecipientKey> keys);

}  // namespace casefile::sync
