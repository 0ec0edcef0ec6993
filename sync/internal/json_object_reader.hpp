// Typed, path-aware reading of one JSON object for the wire codecs. Every
// failure is an Error whose message names the member's path, with codes:
// "json_wrong_type", "json_missing_member", "json_unknown_member",
// "json_invalid_value".
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"

namespace casefile::sync::internal {

Error json_wrong_type(const std::string& path, const char* expected);
Error json_invalid_value(const std::string& path, const std::string& why);

class JsonObjectReader {
 public:
  // Fails unless `value` is an object whose members are all in `allowed`.
  static Result<JsonObjectReader> open(const boost::json::value& value, std::string path,
                                       std::initializer_list<std::string_view> allowed);

  std::string path_of(std::string_view member) const;
  Result<const boost::json::value*> member(std::string_view name) const;
  Result<std::string_view> string(std::string_view name) const;
  Result<std::int64_t> integer(std::string_view name) const;
  // An integer in [minimum, maximum].
  Result<std::uint64_t> bounded(std::string_view name, std::uint64_t minimum, std::uint64_t maximum) const;
  Result<bool> boolean(std::string_view name) const;
  Result<const boost::json::array*> array(std::string_view name) const;
  // Lower-case hex of exactly `size` bytes.
  Result<crypto::Bytes> hex(std::string_view name, std::size_t size) const;
  // base64url without padding, at most `max_size` bytes decoded.
  Result<crypto::Bytes> base64url(std::string_view name, std::size_t max_size) const;
  bool has(std::string_view name) const { return object_->contains(name); }

 private:
  JsonObjectReader(const boost::json::object* object, std::string path)
      : object_(object), path_(std::move(path)) {}
  const boost::json::object* object_;
  std::string path_;
};

}  // namespace casefile::sync::internal
