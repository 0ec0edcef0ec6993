// JSON members of a fixed shape shared by the certificate, wipe order and
// authentication codecs: exact-size base64url byte strings and device ids.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "sync/ids.hpp"
#include "sync/internal/json_object_reader.hpp"

namespace casefile::sync::internal {

// Unpadded base64url of exactly N bytes.
template <std::size_t N>
Result<std::array<std::uint8_t, N>> fixed_size_member(const JsonObjectReader& reader, std::string_view name) {
  auto bytes = reader.base64url(name, N);
  if (!bytes.ok()) return std::move(bytes).error();
  if (bytes->size() != N) {
    return json_invalid_value(reader.path_of(name), "must be " + std::to_string(N) + " bytes");
  }
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

inline Result<DeviceId> device_id_member(const JsonObjectReader& reader, std::string_view name) {
  auto text = reader.string(name);
  if (!text.ok()) return std::move(text).error();
  auto device = parse_id<DeviceId>(*text);
  if (!device) return json_invalid_value(reader.path_of(name), "not an id");
  return *device;
}

}  // namespace casefile::sync::internal
