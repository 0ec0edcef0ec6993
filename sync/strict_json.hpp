// Strict JSON parsing for the sync wire format.
//
// Stricter than RFC 8259 in the ways a protocol needs: a size limit checked
// before parsing, a depth limit, no duplicate keys, integers only (no
// fractions or exponents), and integers within int64. Each way a document can
// be malformed has its own stable code.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

#include "base/result.hpp"

namespace casefile::sync {

struct JsonLimits {
  std::size_t max_bytes = 8 * 1024 * 1024;
  std::size_t max_depth = 16;
  std::size_t max_string_bytes = 2 * 1024 * 1024;  // sealed envelopes are base64url strings
  std::size_t max_array_items = 10'000;
  std::size_t max_object_members = 64;
};

// Errors: "json_too_large", "json_too_deep", "json_syntax" (including invalid
// UTF-8 and trailing content), "json_duplicate_key", "json_not_integer" (a
// fraction or exponent), "json_integer_out_of_range", "json_string_too_long",
// "json_too_many_items".
Result<boost::json::value> parse_strict_json(std::string_view text, const JsonLimits& limits = {});

}  // namespace casefile::sync
