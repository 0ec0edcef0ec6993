#include "device/sealed_value.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>
#include <string_view>

#include "sync/strict_json.hpp"

namespace casefile::device {
namespace {

// Large enough for any sealed plaintext the envelope accepts, quoted.
constexpr std::size_t kMaxPlaintextBytes = std::size_t{8} << 20;

enum class JsonKind { string, integer, boolean };

JsonKind json_kind_of(schema::FieldKind kind) {
  switch (kind) {
    case schema::FieldKind::integer:
    case schema::FieldKind::timestamp:
      return JsonKind::integer;
    case schema::FieldKind::boolean:
      return JsonKind::boolean;
    default:
      return JsonKind::string;
  }
}

std::string canonical_json(const PlainValue& value) {
  boost::json::value json;
  if (const auto* flag = std::get_if<bool>(&value)) {
    json = *flag;
  } else if (const auto* number = std::get_if<std::int64_t>(&value)) {
    json = *number;
  } else if (const auto* text = std::get_if<std::string>(&value)) {
    json = boost::json::string(*text);
  } else {
    throw std::invalid_argument("a null value has no sealed plaintext");
  }
  return boost::json::serialize(json);
}

Error invalid(std::string_view why) {
  return make_error("sealed_value_invalid", std::string("sealed plaintext ") + std::string(why));
}

}  // namespace

schema::ValueView plain_value_view(const PlainValue& value) {
  if (const auto* flag = std::get_if<bool>(&value)) return *flag;
  if (const auto* number = std::get_if<std::int64_t>(&value)) return *number;
  if (const auto* text = std::get_if<std::string>(&value)) return std::string_view(*text);
  return schema::NullView{};
}

sync::FieldValue plain_to_field_value(const PlainValue& value) {
  if (const auto* flag = std::get_if<bool>(&value)) return *flag;
  if (const auto* number = std::get_if<std::int64_t>(&value)) return *number;
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  return sync::NullValue{};
}

crypto::SecretBytes encode_sealed_plaintext(const PlainValue& value) {
  std::string text = canonical_json(value);
  crypto::SecretBytes plaintext(crypto::as_bytes(text));
  std::fill(text.begin(), text.end(), '\0');  // the std::string copy does not wipe itself
  return plaintext;
}

Result<PlainValue> decode_sealed_plaintext(const schema::FieldType& type, crypto::ByteView plaintext) {
  if (plaintext.empty()) return invalid("is empty");
  if (plaintext.size() > kMaxPlaintextBytes) return invalid("is too large");
  const std::string_view text(reinterpret_cast<const char*>(plaintext.data()), plaintext.size());
  sync::JsonLimits limits;
  limits.max_bytes = kMaxPlaintextBytes;
  limits.max_string_bytes = kMaxPlaintextBytes;
  limits.max_depth = 1;
  auto json = sync::parse_strict_json(text, limits);
  if (!json.ok()) return invalid("is not a JSON scalar (" + json.error().code + ")");

  PlainValue value;
  switch (json_kind_of(type.kind)) {
    case JsonKind::string:
      if (!json->is_string()) return invalid("is not a JSON string, as the field's type needs");
      value = std::string(json->as_string().data(), json->as_string().size());
      break;
    case JsonKind::integer:
      if (!json->is_int64()) return invalid("is not a JSON integer, as the field's type needs");
      value = json->as_int64();
      break;
    case JsonKind::boolean:
      if (!json->is_bool()) return invalid("is not true or false, as the field's type needs");
      value = json->as_bool();
      break;
  }
  // Exactly one text per value: no whitespace, no optional escapes.
  if (canonical_json(value) != text) return invalid("is not in canonical form");
  return value;
}

}  // namespace casefile::device
