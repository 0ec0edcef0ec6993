// scrypt (RFC 7914) password-based key derivation.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

struct ScryptParameters {
  std::uint64_t n = 1u << 17;  // cost; a power of two
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

// Errors: "invalid_parameters" (n not a power of two > 1, r or p zero, or
// memory beyond 1 GiB), "kdf_failed".
Result<SecretBytes> scrypt(std::string_view passphrase, ByteView salt, const ScryptParameters& parameters,
                           std::size_t length);

}  // namespace casefile::crypto
