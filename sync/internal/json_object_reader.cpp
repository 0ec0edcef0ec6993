#include "sync/internal/json_object_reader.hpp"

#include <algorithm>

#include "sync/internal/base64url.hpp"

namespace casefile::sync::internal {

namespace json = boost::json;

Error json_wrong_type(const std::string& path, const char* expected) {
  return make_error("json_wrong_type", path + " must be " + expected);
}

Error json_invalid_value(const std::string& path, const std::string& why) {
  return make_error("json_invalid_value", path + ": " + why);
}

Result<JsonObjectReader> JsonObjectReader::open(const json::value& value, std::string path,
                                                std::initializer_list<std::string_view> allowed) {
  if (!value.is_object()) return json_wrong_type(path, "an object");
  const json::object& object = value.get_object();
  for (const auto& entry : object) {
    const std::string_view key(entry.key().data(), entry.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return make_error("json_unknown_member", path + " has an unknown member \"" + std::string(key) + "\"");
    }
  }
  return JsonObjectReader(&object, std::move(path));
}

std::string JsonObjectReader::path_of(std::string_view member) const {
  return path_ + "." + std::string(member);
}

Result<const json::value*> JsonObjectReader::member(std::string_view name) const {
  const json::value* value = object_->if_contains(name);
  if (!value) return make_error("json_missing_member", path_of(name) + " is missing");
  return value;
}

Result<std::string_view> JsonObjectReader::string(std::string_view name) const {
  auto value = member(name);
  if (!value.ok()) return std::move(value).error();
  if (!(*value)->is_string()) return json_wrong_type(path_of(name), "a string");
  const json::string& text = (*value)->get_string();
  return std::string_view(text.data(), text.size());
}

Result<std::int64_t> JsonObjectReader::integer(std::string_view name) const {
  auto value = member(name);
  if (!value.ok()) return std::move(value).error();
  if (!(*value)->is_int64()) return json_wrong_type(path_of(name), "an integer");
  return (*value)->get_int64();
}

Result<std::uint64_t> JsonObjectReader::bounded(std::string_view name, std::uint64_t minimum,
                                                std::uint64_t maximum) const {
  auto number = integer(name);
  if (!number.ok()) return std::move(number).error();
  if (*number < 0 || static_cast<std::uint64_t>(*number) < minimum ||
      static_cast<std::uint64_t>(*number) > maximum) {
    return json_invalid_value(
        path_of(name), "must be between " + std::to_string(minimum) + " and " + std::to_string(maximum));
  }
  return static_cast<std::uint64_t>(*number);
}

Result<bool> JsonObjectReader::boolean(std::string_view name) const {
  auto value = member(name);
  if (!value.ok()) return std::move(value).error();
  if (!(*value)->is_bool()) return json_wrong_type(path_of(name), "true or false");
  return (*value)->get_bool();
}

Result<const json::array*> JsonObjectReader::array(std::string_view name) const {
  auto value = member(name);
  if (!value.ok()) return std::move(value).error();
  if (!(*value)->is_array()) return json_wrong_type(path_of(name), "an array");
  return &(*value)->get_array();
}

Result<crypto::Bytes> JsonObjectReader::hex(std::string_view name, std::size_t size) const {
  auto text = string(name);
  if (!text.ok()) return std::move(text).error();
  crypto::Bytes bytes;
  const bool lower_case =
      std::none_of(text->begin(), text->end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (text->size() != 2 * size || !lower_case || !crypto::from_hex(*text, bytes)) {
    return json_invalid_value(path_of(name),
                              "must be " + std::to_string(2 * size) + " lower-case hex digits");
  }
  return bytes;
}

Result<crypto::Bytes> JsonObjectReader::base64url(std::string_view name, std::size_t max_size) const {
  auto text = string(name);
  if (!text.ok()) return std::move(text).error();
  auto bytes = base64url_decode(*text);
  if (!bytes) return json_invalid_value(path_of(name), "must be unpadded base64url");
  if (bytes->size() > max_size) return json_invalid_value(path_of(name), "is too long");
  return std::move(*bytes);
}

}  // namespace casefile::sync::internal
