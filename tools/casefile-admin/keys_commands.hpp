// casefile-admin's case-key commands (docs/admin.md, "Case keys"):
//   keys status [--case C]            head epoch, members, awaiting_genesis
//   keys rotate --case C | --all [--since T]   forced rotation
//   keys reconcile [--case C]         rotate only cases whose members changed
//   recovery export --to FILE         the recovery key under its own passphrase
//   cases read --case C [--recovery-key FILE]   decrypt a case with the recovery key
//   cases recover --case C --device D [--recovery-key FILE]
// and the reconcile that certify, revoke, cases members and user leave run.
// They work on keys.db and control.db through server::KeyringAdministration.
#pragma once

#include <string>
#include <vector>

#include "crypto/ed25519.hpp"
#include "server/access/control_store.hpp"
#include "sync/ids.hpp"
#include "tools/casefile-admin/command_line.hpp"

namespace casefile::admin {

bool is_keys_command(const Options& options);
int run_keys_command(const Options& options);

// Reconciles `cases` after an access change (certify, revoke, membership,
// user leave), with a progress bar on a terminal. Returns the JSON summary
// {"rotated", "unchanged", "awaiting_genesis"} (counts) for --json output, and
// prints one text line otherwise. Errors: KeyringAdministration::reconcile's.
Result<boost::json::object> reconcile_after_access_change(const Options& options,
                                                          server::ControlStore& control,
                                                          const crypto::Ed25519PrivateKey& authority,
                                                          const std::vector<sync::CaseId>& cases);

}  // namespace casefile::admin
