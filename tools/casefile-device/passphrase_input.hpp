// Where casefile-device gets a passphrase: an environment variable, else a
// file (its first line), else the terminal without echo. The passphrase is
// held in SecretBytes from the moment it is read, so it is wiped on exit.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::device_tool {

// Passphrases longer than this are refused ("passphrase_too_long").
inline constexpr std::size_t kMaximumPassphraseBytes = 1024;

struct PassphraseSource {
  std::string_view environment_variable;  // "CASEFILE_DEVICE_PASSPHRASE"
  std::optional<std::string> file;        // --passphrase-file
  std::string_view prompt;                // shown on the terminal: "passphrase"
  bool confirm = false;                   // ask twice on the terminal (a new passphrase)
};

// Errors: "io_error" (the file cannot be read), "passphrase_required" (no
// variable, no file, no terminal), "passphrase_empty", "passphrase_too_long",
// "passphrase_mismatch" (the terminal confirmation differed).
Result<crypto::SecretBytes> read_passphrase(const PassphraseSource& source);

// The passphrase's bytes as the text the device library takes.
std::string_view passphrase_text(const crypto::SecretBytes& passphrase);

}  // namespace casefile::device_tool
