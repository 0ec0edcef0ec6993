#include "sync/internal/dot_encoding.hpp"

namespace casefile::sync::internal {

void write_value(ByteWriter& writer, const FieldValue& value) {
  struct Visitor {
    ByteWriter& writer;
    void operator()(const NullValue&) const { writer.u8(static_cast<std::uint8_t>(ValueTag::null)); }
    void operator()(bool flag) const {
      writer.u8(static_cast<std::uint8_t>(flag ? ValueTag::true_value : ValueTag::false_value));
    }
    void operator()(std::int64_t number) const {
      writer.u8(static_cast<std::uint8_t>(ValueTag::integer));
      writer.u64(static_cast<std::uint64_t>(number));
    }
    void operator()(const std::string& text) const {
      writer.u8(static_cast<std::uint8_t>(ValueTag::string));
      writer.long_bytes(crypto::as_bytes(text));
    }
    void operator()(const SealedValue& sealed) const {
      writer.u8(static_cast<std::uint8_t>(ValueTag::sealed));
      writer.long_bytes(sealed.envelope);
    }
  };
  std::visit(Visitor{writer}, value);
}

std::optional<FieldValue> read_value(ByteReader& reader, const ChangeLimits& limits, bool& unknown_tag) {
  unknown_tag = false;
  auto tag = reader.u8();
  if (!tag) return std::nullopt;
  switch (static_cast<ValueTag>(*tag)) {
    case ValueTag::null:
      return FieldValue{NullValue{}};
    case ValueTag::false_value:
      return FieldValue{false};
    case ValueTag::true_value:
      return FieldValue{true};
    case ValueTag::integer: {
      auto number = reader.u64();
      if (!number) return std::nullopt;
      return FieldValue{static_cast<std::int64_t>(*number)};
    }
    case ValueTag::string: {
      auto bytes = reader.long_bytes(limits.max_string_bytes);
      if (!bytes) return std::nullopt;
      return FieldValue{std::string(bytes->begin(), bytes->end())};
    }
    case ValueTag::sealed: {
      auto bytes = reader.long_bytes(limits.max_sealed_bytes);
      if (!bytes) return std::nullopt;
      return FieldValue{SealedValue{std::move(*bytes)}};
    }
  }
  unknown_tag = true;
  return std::nullopt;
}

}  // namespace casefile::sync::internal
