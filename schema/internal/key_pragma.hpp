// SQLCipher raw-key text, `x'<64 hex>'`, built in wiped memory.
#pragma once

#include <string_view>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::schema::internal {

inline constexpr std::size_t kDatabaseKeySize = 32;

// `prefix` + "\"x'<hex of key>'\"" + `suffix`, NUL-terminated, in a SecretBytes
// so the hex form of the key is wiped when the caller drops it.
// Errors: "invalid_key" unless the key is exactly 32 bytes.
Result<crypto::SecretBytes> raw_key_statement(std::string_view prefix, const crypto::SecretBytes& key,
                                              std::string_view suffix);

// The bare `x'<hex>'` text (no quotes), NUL-terminated, for binding as a parameter.
Result<crypto::SecretBytes> raw_key_text(const crypto::SecretBytes& key);

inline const char* as_c_string(const crypto::SecretBytes& text) {
  return reinterpret_cast<const char*>(text.data());
}

}  // namespace casefile::schema::internal
