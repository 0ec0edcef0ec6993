// A random RFC 4122 version 4 UUID as a 16-byte id (batch ids, record ids).
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "crypto/random.hpp"

namespace casefile::device::internal {

template <typename IdType>
Result<IdType> random_uuid_v4() {
  IdType id;
  CASEFILE_RETURN_IF_ERROR(crypto::fill_random(id.bytes));
  id.bytes[6] = static_cast<std::uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4
  id.bytes[8] = static_cast<std::uint8_t>((id.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

}  // namespace casefile::device::internal
