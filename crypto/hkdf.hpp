// HKDF-SHA256 (RFC 5869), with extract and expand available separately,
// as HPKE (RFC 9180) needs them.
#pragma once

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

SecretBytes hkdf_sha256_extract(ByteView salt, ByteView input_key_material);
// Fails with "invalid_length" when length > 255 * 32.
Result<SecretBytes> hkdf_sha256_expand(ByteView pseudorandom_key, ByteView info, std::size_t length);
Result<SecretBytes> hkdf_sha256(ByteView salt, ByteView input_key_material, ByteView info,
                                std::size_t length);

}  // namespace casefile::crypto
