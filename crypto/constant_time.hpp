// Comparison whose running time does not depend on where the inputs differ.
#pragma once

#include "crypto/bytes.hpp"

namespace casefile::crypto {

// CRYPTO_memcmp over equal lengths; different lengths compare unequal
// (the lengths themselves are not secret).
bool constant_time_equal(ByteView a, ByteView b);

}  // namespace casefile::crypto
