// Encoding of the pieces shared by change_encoding and record_state_encoding.
#pragma once

#include <optional>

#include "sync/change.hpp"
#include "sync/internal/byte_writer.hpp"

namespace casefile::sync::internal {

template <typename Tag>
void write_id(ByteWriter& writer, const Id128<Tag>& id) {
  writer.raw(id.bytes);
}

template <typename IdType>
std::optional<IdType> read_id(ByteReader& reader) {
  IdType id;
  if (!reader.raw(id.bytes.data(), id.bytes.size())) return std::nullopt;
  return id;
}

inline void write_dot(ByteWriter& writer, const Dot& dot) {
  write_id(writer, dot.device);
  writer.u64(dot.sequence);
}

inline std::optional<Dot> read_dot(ByteReader& reader) {
  auto device = read_id<DeviceId>(reader);
  auto sequence = reader.u64();
  if (!device || !sequence) return std::nullopt;
  return Dot{*device, *sequence};
}

enum class ValueTag : std::uint8_t {
  null = 0,
  false_value = 1,
  true_value = 2,
  integer = 3,
  string = 4,
  sealed = 5
};

void write_value(ByteWriter& writer, const FieldValue& value);
// nullopt on truncation or an unknown tag; `unknown_tag` tells which.
std::optional<FieldValue> read_value(ByteReader& reader, const ChangeLimits& limits, bool& unknown_tag);

}  // namespace casefile::sync::internal
