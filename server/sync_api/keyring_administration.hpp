// KeyringAdministration: the admin's side of case keyrings (issue 7,
// docs/security.md §8), as a library over the instance's stores, so that
// casefile-admin and bench/ share one path.
//
// "Reconciling" a case: its desired members are the certified, unrevoked
// devices of its member users whose user is not disabled
// (server/access/case_key_recipients.hpp). When they differ from the members
// of the stored head manifest (or a rotation is forced), the case gets epoch
// head+1: a fresh random key, wrapped to each desired device's certified
// wrapping key and to the recovery key, signed by the authority, stored with
// uploaded_by = the nil id and audited `case_key_rotated`. The cost is one
// signature and (members + 1) HPKE wraps a case; no record is read.
//
// Every write first verifies the stored chain (authority key, genesis signer
// from control.db's certificates), so a tampered keys.db is refused with a
// keyring_* code and never extended. A case with no stored epoch (its
// creating device has not uploaded the genesis yet) is `awaiting_genesis`
// and skipped; a later reconcile handles it.
//
// keys.db and control.db are two files: an epoch is stored, then its audit
// entry appended. A crash between the two leaves an unaudited epoch, never an
// audited one that is missing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"
#include "server/access/control_store.hpp"
#include "server/access/token_authenticator.hpp"
#include "server/sync_api/key_wrap_store.hpp"
#include "sync/case_keyring.hpp"
#include "sync/keyring_manifest.hpp"

namespace casefile::server {

struct CaseKeyringStatus {
  sync::CaseId case_id;
  std::optional<sync::KeyringManifest> head;    // verified; nullopt: awaiting genesis
  std::vector<sync::DeviceId> desired_members;  // ascending
  // The head's members differ from the desired ones.
  bool needs_reconcile() const { return head && head->members != desired_members; }
};

enum class KeyringOutcome { rotated, unchanged, awaiting_genesis };
std::string_view keyring_outcome_name(KeyringOutcome outcome);

struct CaseKeyringResult {
  sync::CaseId case_id;
  KeyringOutcome outcome = KeyringOutcome::unchanged;
  std::uint32_t head_epoch = 0;         // after; 0 while awaiting genesis
  std::vector<sync::DeviceId> members;  // of the head after
};

struct ReconcileOptions {
  // Rotate even when the members are unchanged (casefile-admin keys rotate).
  bool force = false;
  // With force: skip cases whose head was issued at or after this time, so an
  // interrupted forced rotation resumes where it stopped.
  std::optional<std::int64_t> skip_heads_issued_since_ms;
};

// Called after each case with (cases done, total).
using KeyringProgress = std::function<void(std::size_t done, std::size_t total)>;

struct RecoveredDevice {
  sync::CaseId case_id;
  std::vector<std::uint32_t> wrapped_epochs;  // epochs newly wrapped to the device
  CaseKeyringResult reconciled;               // the reconcile that followed
};

class KeyringAdministration {
 public:
  // `actor` names who acts in audit entries ("admin:<os user>").
  // REQUIRES: the stores outlive this object.
  KeyringAdministration(ControlStore& control, KeyWrapStore& keys, const crypto::Ed25519PublicKey& authority,
                        const crypto::X25519PublicKey& recovery_public_key, std::string actor,
                        AccessClock clock = system_clock_ms);

  // Every case, ascending. Errors: the control store's.
  Result<std::vector<sync::CaseId>> all_cases();

  // The verified head and desired members of each of `cases`.
  // Errors: the stores', decode_manifest's, verify_keyring_chain's.
  Result<std::vector<CaseKeyringStatus>> status(std::span<const sync::CaseId> cases);

  // Reconciles each of `cases` in order (see above), reporting progress. Stops
  // at the first error; cases before it keep their new epochs, and running
  // again continues (an unchanged case is a no-op). Errors: status's,
  // "case_unknown", plan_rotation's, wrap_rotation's
  // ("keyring_recovery_key_mismatch": the case's genesis names another
  // recovery key), the key store's, the audit's.
  Result<std::vector<CaseKeyringResult>> reconcile(std::span<const sync::CaseId> cases,
                                                   const crypto::Ed25519PrivateKey& authority,
                                                   const ReconcileOptions& options = {},
                                                   const KeyringProgress& progress = {});

  // Every epoch of the case opened with the recovery private key, each key
  // checked against its manifest's commitment. Errors: "case_key_unavailable"
  // (awaiting genesis), status's, CaseKeyring::open's.
  Result<sync::CaseKeyring> open_with_recovery_key(const sync::CaseId& case_id,
                                                   const crypto::X25519PrivateKey& recovery);

  // Recovery (flow 8): wraps every epoch `device` lacks to its certified
  // wrapping key (KeyWrapStore::add_wraps), audited `case_key_recovered`, then
  // reconciles the case so the device is in an authority-signed head.
  // Errors: "recipient_not_member" (not a certified, unrevoked device of an
  // enabled member), open_with_recovery_key's, reconcile's.
  Result<RecoveredDevice> recover_to_device(const sync::CaseId& case_id, const sync::DeviceId& device,
                                            const crypto::X25519PrivateKey& recovery,
                                            const crypto::Ed25519PrivateKey& authority);

 private:
  class Snapshot;

  Result<CaseKeyringStatus> case_status(Snapshot& snapshot, const sync::CaseId& case_id);
  Result<CaseKeyringResult> reconcile_case(Snapshot& snapshot, const sync::CaseId& case_id,
                                           const crypto::Ed25519PrivateKey& authority,
                                           const ReconcileOptions& options);
  Status audit(std::string event, const sync::CaseId& case_id, boost::json::object details);

  ControlStore& control_;
  KeyWrapStore& keys_;
  crypto::Ed25519PublicKey authority_;
  crypto::X25519PublicKey recovery_public_key_;
  std::string actor_;
  AccessClock clock_;
};

}  // namespace casefile::server
