// Secure random bytes from OpenSSL's DRBG (RAND_priv_bytes for secrets).
#pragma once

#include <cstddef>
#include <span>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

// Fills `out`; fails with "random_failed" only if OpenSSL's generator does.
Status fill_random(std::span<std::uint8_t> out);
Result<Bytes> random_bytes(std::size_t size);          // public randomness: salts, ids, nonces
Result<SecretBytes> random_secret(std::size_t size);   // keys

}  // namespace casefile::crypto
