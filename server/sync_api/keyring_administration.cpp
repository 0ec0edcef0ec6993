#include "server/sync_api/keyring_administration.hpp"

#include <algorithm>
#include <map>

#include "crypto/envelope.hpp"
#include "crypto/random.hpp"
#include "server/access/case_key_recipients.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/device_certificate.hpp"

namespace casefile::server {

std::string_view keyring_outcome_name(KeyringOutcome outcome) {
  switch (outcome) {
    case KeyringOutcome::rotated:
      return "rotated";
    case KeyringOutcome::unchanged:
      return "unchanged";
    case KeyringOutcome::awaiting_genesis:
      return "awaiting_genesis";
  }
  return "unknown";
}

// What one run reads of control.db once: users, devices, memberships, and
// the certificates it has verified under the authority.
class KeyringAdministration::Snapshot {
 public:
  static Result<Snapshot> load(ControlStore& control, const crypto::Ed25519PublicKey& authority) {
    Snapshot snapshot;
    snapshot.authority_ = authority;
    auto users = control.list_users();
    if (!users.ok()) return std::move(users).error();
    auto devices = control.list_devices();
    if (!devices.ok()) return std::move(devices).error();
    auto cases = control.list_cases();
    if (!cases.ok()) return std::move(cases).error();
    snapshot.users_ = std::move(*users);
    snapshot.devices_ = std::move(*devices);
    for (CaseMembers& members : *cases) snapshot.members_.emplace(members.case_id, std::move(members.users));
    return snapshot;
  }

  const std::map<sync::CaseId, std::vector<std::string>>& members() const { return members_; }

  // The case's recipients with their authority-verified certificates.
  // Errors: "case_unknown", "certificate_invalid", "certificate_wrong_authority".
  Result<std::vector<sync::DeviceCertificate>> recipients(const sync::CaseId& case_id) {
    const auto found = members_.find(case_id);
    if (found == members_.end()) return make_error("case_unknown", "no case " + sync::to_text(case_id));
    std::vector<sync::DeviceCertificate> certificates;
    for (const DeviceRecord& device : select_case_key_recipients(found->second, users_, devices_)) {
      auto certificate = verified_certificate(device.id);
      if (!certificate.ok()) return std::move(certificate).error();
      certificates.push_back(*certificate);
    }
    return certificates;
  }

  // The genesis signer lookup: a device's signing key from its certificate,
  // verified under the authority (revoked devices included: a genesis they
  // signed while certified stays valid history).
  sync::DeviceSigningKeyLookup signers() {
    return [this](const sync::DeviceId& device) -> std::optional<crypto::Ed25519PublicKey> {
      auto certificate = verified_certificate(device);
      if (!certificate.ok()) return std::nullopt;
      return certificate->signing_public_key;
    };
  }

 private:
  Result<sync::DeviceCertificate> verified_certificate(const sync::DeviceId& device) {
    if (const auto cached = certificates_.find(device); cached != certificates_.end()) return cached->second;
    const auto record = std::find_if(devices_.begin(), devices_.end(),
                                     [&](const DeviceRecord& candidate) { return candidate.id == device; });
    if (record == devices_.end() || record->certificate.empty()) {
      return make_error("certificate_invalid", "device " + sync::to_text(device) + " has no certificate");
    }
    auto certificate = sync::decode_certificate(record->certificate);
    if (!certificate.ok()) return std::move(certificate).error();
    // The signature and the authority, whatever the validity period: an
    // expired device is refused at sign-in, not here.
    CASEFILE_RETURN_IF_ERROR(sync::verify_certificate(*certificate, authority_, certificate->not_before_ms));
    if (certificate->device != device) {
      return make_error("certificate_invalid",
                        "device " + sync::to_text(device) + " holds another's certificate");
    }
    certificates_.emplace(device, *certificate);
    return *certificate;
  }

  crypto::Ed25519PublicKey authority_{};
  std::vector<UserRecord> users_;
  std::vector<DeviceRecord> devices_;
  std::map<sync::CaseId, std::vector<std::string>> members_;
  std::map<sync::DeviceId, sync::DeviceCertificate> certificates_;
};

namespace {

std::vector<sync::DeviceId> ids_of(const std::vector<sync::DeviceCertificate>& certificates) {
  std::vector<sync::DeviceId> ids;
  for (const auto& certificate : certificates) ids.push_back(certificate.device);
  return ids;
}

boost::json::array id_texts(const std::vector<sync::DeviceId>& ids) {
  boost::json::array texts;
  for (const sync::DeviceId& id : ids) texts.emplace_back(sync::to_text(id));
  return texts;
}

// The stored chain, decoded and verified. nullopt: no epoch stored.
Result<std::optional<sync::KeyringManifest>> verified_head(KeyWrapStore& keys, const sync::CaseId& case_id,
                                                           const crypto::Ed25519PublicKey& authority,
                                                           const sync::DeviceSigningKeyLookup& signers,
                                                           std::vector<KeyEpoch>* epochs_out = nullptr) {
  auto epochs = keys.epochs(case_id);
  if (!epochs.ok()) return std::move(epochs).error();
  if (epochs->empty()) return std::optional<sync::KeyringManifest>();
  std::vector<sync::KeyringManifest> chain;
  for (const KeyEpoch& epoch : *epochs) {
    auto manifest = sync::decode_manifest(epoch.manifest);
    if (!manifest.ok()) return std::move(manifest).error();
    if (manifest->epoch != epoch.epoch) {
      return make_error("keyring_chain_broken", "keyring chain: the manifest stored as epoch " +
                                                    std::to_string(epoch.epoch) + " is another epoch");
    }
    chain.push_back(std::move(*manifest));
  }
  auto head = sync::verify_keyring_chain(case_id, chain, authority, signers, std::nullopt);
  if (!head.ok()) return std::move(head).error();
  if (epochs_out != nullptr) *epochs_out = std::move(*epochs);
  return std::optional<sync::KeyringManifest>(std::move(*head));
}

}  // namespace

KeyringAdministration::KeyringAdministration(ControlStore& control, KeyWrapStore& keys,
                                             const crypto::Ed25519PublicKey& authority,
                                             const crypto::X25519PublicKey& recovery_public_key,
                                             std::string actor, AccessClock clock)
    : control_(control),
      keys_(keys),
      authority_(authority),
      recovery_public_key_(recovery_public_key),
      actor_(std::move(actor)),
      clock_(std::move(clock)) {}

Result<std::vector<sync::CaseId>> KeyringAdministration::all_cases() {
  auto cases = control_.list_cases();
  if (!cases.ok()) return std::move(cases).error();
  std::vector<sync::CaseId> ids;
  for (const CaseMembers& members : *cases) ids.push_back(members.case_id);
  return ids;
}

Result<CaseKeyringStatus> KeyringAdministration::case_status(Snapshot& snapshot,
                                                             const sync::CaseId& case_id) {
  auto recipients = snapshot.recipients(case_id);
  if (!recipients.ok()) return std::move(recipients).error();
  auto head = verified_head(keys_, case_id, authority_, snapshot.signers());
  if (!head.ok()) return std::move(head).error();
  return CaseKeyringStatus{case_id, std::move(*head), ids_of(*recipients)};
}

Result<std::vector<CaseKeyringStatus>> KeyringAdministration::status(std::span<const sync::CaseId> cases) {
  auto snapshot = Snapshot::load(control_, authority_);
  if (!snapshot.ok()) return std::move(snapshot).error();
  std::vector<CaseKeyringStatus> statuses;
  for (const sync::CaseId& case_id : cases) {
    auto status = case_status(*snapshot, case_id);
    if (!status.ok()) return std::move(status).error();
    statuses.push_back(std::move(*status));
  }
  return statuses;
}

Status KeyringAdministration::audit(std::string event, const sync::CaseId& case_id,
                                    boost::json::object details) {
  return control_.append_audit(
      AuditEvent{clock_(), actor_, std::move(event), "case:" + sync::to_text(case_id), std::move(details)});
}

Result<CaseKeyringResult> KeyringAdministration::reconcile_case(Snapshot& snapshot,
                                                                const sync::CaseId& case_id,
                                                                const crypto::Ed25519PrivateKey& authority,
                                                                const ReconcileOptions& options) {
  auto recipients = snapshot.recipients(case_id);
  if (!recipients.ok()) return std::move(recipients).error();
  auto head = verified_head(keys_, case_id, authority_, snapshot.signers());
  if (!head.ok()) return std::move(head).error();
  if (!head->has_value()) return CaseKeyringResult{case_id, KeyringOutcome::awaiting_genesis, 0, {}};
  const sync::KeyringManifest& current = **head;
  const std::vector<sync::DeviceId> desired = ids_of(*recipients);
  const bool already_rotated =
      options.skip_heads_issued_since_ms && current.issued_at_ms >= *options.skip_heads_issued_since_ms;
  if (options.force ? already_rotated : current.members == desired) {
    return CaseKeyringResult{case_id, KeyringOutcome::unchanged, current.epoch, current.members};
  }

  auto key = crypto::random_secret(crypto::kCaseKeySize);
  if (!key.ok()) return std::move(key).error();
  const std::int64_t now = clock_();
  auto plan = sync::plan_rotation(current, desired, std::move(*key), now);
  if (!plan.ok()) return std::move(plan).error();
  auto signed_manifest = sync::sign_manifest(plan->manifest, authority);
  if (!signed_manifest.ok()) return std::move(signed_manifest).error();
  plan->manifest = std::move(*signed_manifest);
  std::vector<sync::RecipientKey> public_keys;
  for (const auto& certificate : *recipients) {
    public_keys.push_back(sync::RecipientKey{certificate.device, certificate.wrapping_public_key});
  }
  public_keys.push_back(sync::RecipientKey{sync::kRecoveryRecipient, recovery_public_key_});
  auto wraps = sync::wrap_rotation(*plan, public_keys);
  if (!wraps.ok()) return std::move(wraps).error();

  KeyEpoch epoch{case_id, plan->manifest.epoch,     sync::encode_manifest(plan->manifest),
                 {},      sync::kRecoveryRecipient, now};
  for (sync::RecipientWrap& wrap : *wraps)
    epoch.wraps.push_back(KeyWrap{wrap.recipient, std::move(wrap.wrap)});
  std::sort(epoch.wraps.begin(), epoch.wraps.end(),
            [](const KeyWrap& a, const KeyWrap& b) { return a.recipient < b.recipient; });
  auto stored = keys_.put_epoch(epoch);
  if (!stored.ok()) return std::move(stored).error();
  CASEFILE_RETURN_IF_ERROR(audit("case_key_rotated", case_id,
                                 {{"epoch", epoch.epoch},
                                  {"members", id_texts(desired)},
                                  {"reason", options.force ? "forced" : "reconcile"}}));
  return CaseKeyringResult{case_id, KeyringOutcome::rotated, epoch.epoch, desired};
}

Result<std::vector<CaseKeyringResult>> KeyringAdministration::reconcile(
    std::span<const sync::CaseId> cases, const crypto::Ed25519PrivateKey& authority,
    const ReconcileOptions& options, const KeyringProgress& progress) {
  if (authority.public_key() != authority_) {
    return make_error("corrupt_instance", "the authority key is not the instance's");
  }
  auto snapshot = Snapshot::load(control_, authority_);
  if (!snapshot.ok()) return std::move(snapshot).error();
  std::vector<CaseKeyringResult> results;
  for (const sync::CaseId& case_id : cases) {
    auto result = reconcile_case(*snapshot, case_id, authority, options);
    if (!result.ok()) {
      Error error = std::move(result).error();
      error.message = "case " + sync::to_text(case_id) + ": " + error.message;
      return error;
    }
    results.push_back(std::move(*result));
    if (progress) progress(results.size(), cases.size());
  }
  return results;
}

Result<sync::CaseKeyring> KeyringAdministration::open_with_recovery_key(
    const sync::CaseId& case_id, const crypto::X25519PrivateKey& recovery) {
  auto snapshot = Snapshot::load(control_, authority_);
  if (!snapshot.ok()) return std::move(snapshot).error();
  auto epochs = keys_.epochs(case_id);
  if (!epochs.ok()) return std::move(epochs).error();
  if (epochs->empty()) {
    return make_error("case_key_unavailable", "the case has no stored keyring yet (awaiting its genesis)");
  }
  std::vector<sync::KeyringEpochEntry> entries;
  for (const KeyEpoch& epoch : *epochs) {
    sync::KeyringEpochEntry entry{epoch.epoch, epoch.manifest, std::nullopt};
    for (const KeyWrap& wrap : epoch.wraps) {
      if (wrap.recipient == sync::kRecoveryRecipient) entry.wrap = wrap.wrap;
    }
    entries.push_back(std::move(entry));
  }
  return sync::CaseKeyring::open(case_id, entries, authority_, snapshot->signers(), sync::kRecoveryRecipient,
                                 recovery);
}

Result<RecoveredDevice> KeyringAdministration::recover_to_device(const sync::CaseId& case_id,
                                                                 const sync::DeviceId& device,
                                                                 const crypto::X25519PrivateKey& recovery,
                                                                 const crypto::Ed25519PrivateKey& authority) {
  if (authority.public_key() != authority_) {
    return make_error("corrupt_instance", "the authority key is not the instance's");
  }
  auto snapshot = Snapshot::load(control_, authority_);
  if (!snapshot.ok()) return std::move(snapshot).error();
  auto recipients = snapshot->recipients(case_id);
  if (!recipients.ok()) return std::move(recipients).error();
  const auto recipient = std::find_if(recipients->begin(), recipients->end(),
                                      [&](const sync::DeviceCertificate& c) { return c.device == device; });
  if (recipient == recipients->end()) {
    return make_error(
        "recipient_not_member",
        "device " + sync::to_text(device) + " is not a certified, unrevoked device of a member of the case");
  }
  auto keyring = open_with_recovery_key(case_id, recovery);
  if (!keyring.ok()) return std::move(keyring).error();
  auto epochs = keys_.epochs(case_id);
  if (!epochs.ok()) return std::move(epochs).error();
  auto wraps = keyring->wrap_held_epochs(device, recipient->wrapping_public_key);
  if (!wraps.ok()) return std::move(wraps).error();

  RecoveredDevice recovered;
  recovered.case_id = case_id;
  for (sync::EpochWrap& wrap : *wraps) {
    const auto stored = std::find_if(epochs->begin(), epochs->end(),
                                     [&](const KeyEpoch& epoch) { return epoch.epoch == wrap.epoch; });
    const bool held = stored != epochs->end() &&
                      std::any_of(stored->wraps.begin(), stored->wraps.end(),
                                  [&](const KeyWrap& existing) { return existing.recipient == device; });
    if (held) continue;
    const KeyWrap added{device, std::move(wrap.wrap)};
    auto result = keys_.add_wraps(case_id, wrap.epoch, std::span<const KeyWrap>(&added, 1));
    if (!result.ok()) return std::move(result).error();
    recovered.wrapped_epochs.push_back(wrap.epoch);
  }
  boost::json::array epoch_numbers;
  for (std::uint32_t epoch : recovered.wrapped_epochs) epoch_numbers.emplace_back(epoch);
  CASEFILE_RETURN_IF_ERROR(audit("case_key_recovered", case_id,
                                 {{"device", sync::to_text(device)}, {"epochs", std::move(epoch_numbers)}}));
  auto reconciled = reconcile_case(*snapshot, case_id, authority, {});
  if (!reconciled.ok()) return std::move(reconciled).error();
  recovered.reconciled = std::move(*reconciled);
  return recovered;
}

}  // namespace casefile::server
