// Pull cursors. Opaque to devices: unpadded base64url of a version byte (1)
// and the last log sequence the device has been given, big-endian u64. The
// empty string means "from the beginning".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace casefile::sync {

std::string encode_cursor(std::uint64_t sequence);
// Errors: "invalid_cursor".
Result<std::uint64_t> decode_cursor(std::string_view cursor);

}  // namespace casefile::sync
