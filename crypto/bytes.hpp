// Byte containers shared by every crypto API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace casefile::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Lower-case hex, and its strict inverse (even length, [0-9a-fA-F] only).
std::string to_hex(ByteView bytes);
bool from_hex(std::string_view hex, Bytes& out);

}  // namespace casefile::crypto
