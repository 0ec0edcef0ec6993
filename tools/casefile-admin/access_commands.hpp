// casefile-admin's identity and access commands: user, enrol, certify,
// devices, revoke, cases, audit (docs/admin.md). Each opens the instance's
// control.db directly; SQLite's WAL lets it run while casefiled serves.
#pragma once

#include <string>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "tools/casefile-admin/command_line.hpp"

namespace casefile::admin {

bool is_access_command(const std::string& command);
int run_access_command(const Options& options);

// Unwraps the authority key with the admin passphrase, checks it is the
// instance's (org/authority.pub), and writes org/recovery.sig when missing
// (instances made before it). Errors: admin_passphrase's, the key file's,
// "corrupt_instance".
Result<crypto::Ed25519PrivateKey> load_authority(const Options& options);

}  // namespace casefile::admin
