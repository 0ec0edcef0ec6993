#include "server/query_string.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace casefile::server {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, PercentDecoding mode) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && mode == PercentDecoding::query_component) {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_digit(text[i + 1]);
      const int low = hex_digit(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0' || (decoded == '/' && mode == PercentDecoding::path_segment)) return std::nullopt;
      out.push_back(decoded);
      i += 2;
    }
  }
  return out;
}

Result<QueryParameters> parse_query(std::string_view query,
                                    std::initializer_list<std::string_view> known_names) {
  QueryParameters parameters;
  while (!query.empty()) {
    const std::size_t end = query.find('&');
    const std::string_view pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    auto name = percent_decode(pair.substr(0, equals), PercentDecoding::query_component);
    auto value =
        percent_decode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1),
                       PercentDecoding::query_component);
    if (!name || !value) return make_error("invalid_query", "bad percent-encoding in the query");
    if (std::find(known_names.begin(), known_names.end(), *name) == known_names.end()) {
      return make_error("invalid_query", "unknown query parameter '" + *name + "'");
    }
    if (!parameters.emplace(std::move(*name), std::move(*value)).second) {
      return make_error("invalid_query", "a query parameter is repeated");
    }
  }
  return parameters;
}

Result<std::uint64_t> query_integer(const QueryParameters& parameters, std::string_view name,
                                    std::uint64_t fallback, std::uint64_t minimum, std::uint64_t maximum) {
  const auto found = parameters.find(name);
  if (found == parameters.end()) return fallback;
  const std::string& text = found->second;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < minimum ||
      value > maximum) {
    return make_error("invalid_query", "'" + std::string(name) + "' must be an integer from " +
                                           std::to_string(minimum) + " to " + std::to_string(maximum));
  }
  return value;
}

}  // namespace casefile::server
