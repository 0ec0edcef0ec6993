// 128-bit identifiers of devices, cases, records and batches.
//
// Each kind is its own type so that a case id cannot be passed where a record
// id is expected. On the wire they are lower-case RFC 4122 text
// ("8-4-4-4-12" hex groups); in the canonical encoding, 16 raw bytes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace casefile::sync {

template <typename Tag>
struct Id128 {
  std::array<std::uint8_t, 16> bytes{};

  friend auto operator<=>(const Id128&, const Id128&) = default;
  friend bool operator==(const Id128&, const Id128&) = default;
};

struct DeviceIdTag {};
struct CaseIdTag {};
struct RecordIdTag {};
struct BatchIdTag {};

using DeviceId = Id128<DeviceIdTag>;
using CaseId = Id128<CaseIdTag>;
using RecordId = Id128<RecordIdTag>;
using BatchId = Id128<BatchIdTag>;

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case.
std::string id_to_text(const std::array<std::uint8_t, 16>& bytes);
// Strict inverse of id_to_text: exactly 36 characters, hyphens in place, hex
// digits of either case elsewhere. Nothing else parses.
std::optional<std::array<std::uint8_t, 16>> id_from_text(std::string_view text);

template <typename Tag>
std::string to_text(const Id128<Tag>& id) {
  return id_to_text(id.bytes);
}

template <typename IdType>
std::optional<IdType> parse_id(std::string_view text) {
  auto bytes = id_from_text(text);
  if (!bytes) return std::nullopt;
  return IdType{*bytes};
}

}  // namespace casefile::sync
