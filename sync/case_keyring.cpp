#include "sync/case_keyring.hpp"

#include <algorithm>

#include "crypto/constant_time.hpp"
#include "crypto/envelope.hpp"
#include "crypto/hash.hpp"
#include "sync/case_key_wrap.hpp"

namespace casefile::sync {
namespace {

Error unavailable(std::uint32_t epoch) {
  return make_error("case_key_unavailable",
                    "this device holds no case key for epoch " + std::to_string(epoch) + " of the case");
}

// The manifest of the epoch after `previous` (or epoch 1 when there is none)
// for `members`, committing to `case_key`.
Result<RotationPlan> plan_epoch(KeyringManifest manifest, std::vector<DeviceId> members,
                                crypto::SecretBytes case_key, std::int64_t issued_at_ms) {
  if (case_key.size() != crypto::kCaseKeySize) return make_error("invalid_key", "a case key is 32 bytes");
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  manifest.version = kKeyringManifestVersion;
  manifest.issued_at_ms = issued_at_ms;
  manifest.members = members;
  manifest.case_key_commitment = case_key_commitment(case_key, manifest.case_id, manifest.epoch);
  manifest.authority_fingerprint = {};
  manifest.signature = {};
  CASEFILE_RETURN_IF_ERROR(check_manifest_fields(manifest));
  members.push_back(kRecoveryRecipient);
  return RotationPlan{std::move(manifest), std::move(case_key), std::move(members)};
}

}  // namespace

Result<CaseKeyring> CaseKeyring::open(const CaseId& case_id, std::span<const KeyringEpochEntry> entries,
                                      crypto::ByteView authority_public_key,
                                      const DeviceSigningKeyLookup& device_signing_key, const DeviceId& self,
                                      const crypto::X25519PrivateKey& wrapping_key,
                                      const std::optional<KeyringManifest>& accepted_head) {
  std::vector<KeyringManifest> chain;
  chain.reserve(entries.size());
  for (const KeyringEpochEntry& entry : entries) {
    auto manifest = decode_manifest(entry.manifest);
    if (!manifest.ok()) return std::move(manifest).error();
    if (manifest->epoch != entry.epoch) {
      return make_error("keyring_chain_broken", "keyring chain: the manifest listed as epoch " +
                                                    std::to_string(entry.epoch) + " is epoch " +
                                                    std::to_string(manifest->epoch));
    }
    chain.push_back(std::move(*manifest));
  }
  auto head = verify_keyring_chain(case_id, chain, authority_public_key, device_signing_key, accepted_head);
  if (!head.ok()) return std::move(head).error();

  std::map<std::uint32_t, crypto::SecretBytes> keys;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].wrap) continue;
    const KeyringManifest& manifest = chain[i];
    auto key = unwrap_case_key(*entries[i].wrap, case_id, manifest.epoch, self, wrapping_key);
    if (!key.ok()) return std::move(key).error();
    if (!crypto::constant_time_equal(case_key_commitment(*key, case_id, manifest.epoch),
                                     manifest.case_key_commitment)) {
      return make_error("case_key_unwrap_failed", "the wrap of epoch " + std::to_string(manifest.epoch) +
                                                      " holds a key its manifest does not commit to");
    }
    keys.emplace(manifest.epoch, std::move(*key));
  }
  return CaseKeyring(std::move(*head), std::move(keys));
}

std::vector<std::uint32_t> CaseKeyring::held_epochs() const {
  std::vector<std::uint32_t> epochs;
  for (const auto& [epoch, key] : keys_) epochs.push_back(epoch);
  return epochs;
}

Result<crypto::ByteView> CaseKeyring::key(std::uint32_t epoch) const {
  const auto found = keys_.find(epoch);
  if (found == keys_.end()) return unavailable(epoch);
  return found->second.view();
}

Result<std::uint32_t> CaseKeyring::write_epoch() const {
  if (!keys_.contains(head_.epoch)) return unavailable(head_.epoch);
  return head_.epoch;
}

Result<std::vector<EpochWrap>> CaseKeyring::wrap_held_epochs(
    const DeviceId& recipient, const crypto::X25519PublicKey& recipient_public_key) const {
  std::vector<EpochWrap> wraps;
  for (const auto& [epoch, key] : keys_) {
    auto wrap = wrap_case_key(key, head_.case_id, epoch, recipient, recipient_public_key);
    if (!wrap.ok()) return std::move(wrap).error();
    wraps.push_back(EpochWrap{epoch, std::move(*wrap)});
  }
  return wraps;
}

Result<RotationPlan> plan_rotation(const KeyringManifest& current, std::vector<DeviceId> members,
                                   crypto::SecretBytes new_case_key, std::int64_t issued_at_ms) {
  if (current.epoch >= kMaxKeyringEpoch) {
    return make_error("keyring_epoch_exhausted", "the case has reached the last keyring epoch");
  }
  KeyringManifest next = current;
  next.epoch = current.epoch + 1;
  next.previous_manifest_hash = manifest_hash(current);
  return plan_epoch(std::move(next), std::move(members), std::move(new_case_key), issued_at_ms);
}

Result<RotationPlan> plan_first_epoch(const CaseId& case_id, std::vector<DeviceId> members,
                                      const crypto::X25519PublicKey& recovery_public_key,
                                      std::uint8_t minimum_envelope_version, crypto::SecretBytes case_key,
                                      std::int64_t issued_at_ms) {
  KeyringManifest first;
  first.case_id = case_id;
  first.epoch = 1;
  first.minimum_envelope_version = minimum_envelope_version;
  first.recovery_key_fingerprint = crypto::sha256(recovery_public_key);
  return plan_epoch(std::move(first), std::move(members), std::move(case_key), issued_at_ms);
}

Result<std::vector<RecipientWrap>> wrap_rotation(const RotationPlan& plan,
                                                 std::span<const RecipientKey> keys) {
  std::vector<RecipientWrap> wraps;
  wraps.reserve(plan.recipients.size());
  for (const DeviceId& recipient : plan.recipients) {
    const auto key = std::find_if(keys.begin(), keys.end(), [&](const RecipientKey& candidate) {
      return candidate.recipient == recipient;
    });
    if (key == keys.end()) {
      return make_error("keyring_recipient_unknown", "no public key for recipient " + to_text(recipient));
    }
    if (recipient == kRecoveryRecipient &&
        !crypto::constant_time_equal(crypto::sha256(key->public_key),
                                     plan.manifest.recovery_key_fingerprint)) {
      return make_error("keyring_recovery_key_mismatch",
                        "the recovery key is not the one the manifest names");
    }
    auto wrap =
        wrap_case_key(plan.case_key, plan.manifest.case_id, plan.manifest.epoch, recipient, key->public_key);
    if (!wrap.ok()) return std::move(wrap).error();
    wraps.push_back(RecipientWrap{recipient, std::move(*wrap)});
  }
  return wraps;
}

}  // namespace casefile::sync
