// Percent-decoding of path segments and query components (RFC 3986 §2.1),
// and the query string of a request, parsed strictly: "name=value" pairs
// joined by '&', percent-decoded ('+' is a space), each name at most once and
// known to the route. Anything else is refused, never ignored.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace casefile::server {

enum class PercentDecoding {
  path_segment,     // '+' is itself; an encoded '/' is refused, so no separator is smuggled into a value
  query_component,  // '+' is a space
};

// std::nullopt for a malformed escape, or one that decodes to NUL (or to '/'
// in a path segment).
std::optional<std::string> percent_decode(std::string_view text, PercentDecoding mode);

using QueryParameters = std::map<std::string, std::string, std::less<>>;

// Errors: "invalid_query" (bad encoding, a repeated or unknown name).
Result<QueryParameters> parse_query(std::string_view query,
                                    std::initializer_list<std::string_view> known_names);

// The parameter as an unsigned integer in [minimum, maximum], or `fallback`
// when absent. Errors: "invalid_query" naming the parameter and its range.
Result<std::uint64_t> query_integer(const QueryParameters& parameters, std::string_view name,
                                    std::uint64_t fallback, std::uint64_t minimum, std::uint64_t maximum);

}  // namespace casefile::server
