#include "server/access/internal/request_parts.hpp"

#include <algorithm>
#include <cctype>

#include "sync/strict_json.hpp"

namespace casefile::server::internal {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string_view> bearer_token(const Request& request) {
  const std::string_view header = request.header("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || !equal_ignoring_case(header.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

Result<std::map<std::string, std::string, std::less<>>> parse_query(
    std::string_view query, std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string, std::less<>> parameters;
  while (!query.empty()) {
    const std::size_t end = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, end);
    query.remove_prefix(std::min(end + 1, query.size()));
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    auto name = percent_decode(pair.substr(0, equals));
    auto value =
        percent_decode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
    if (!name || !value) return make_error("bad_request", "malformed query string");
    if (std::find(allowed.begin(), allowed.end(), *name) == allowed.end()) {
      return make_error("bad_request", "unknown query parameter " + *name);
    }
    if (!parameters.emplace(std::move(*name), std::move(*value)).second) {
      return make_error("bad_request", "repeated query parameter");
    }
  }
  return parameters;
}

Result<boost::json::object> parse_object_body(const Request& request,
                                              std::initializer_list<std::string_view> allowed) {
  sync::JsonLimits limits;
  limits.max_bytes = 64 * 1024;
  limits.max_depth = 4;
  limits.max_string_bytes = 16 * 1024;
  auto value = sync::parse_strict_json(request.body, limits);
  if (!value.ok())
    return make_error("bad_request", "the body is not acceptable JSON: " + value.error().message);
  if (!value->is_object()) return make_error("bad_request", "the body must be a JSON object");
  for (const auto& member : value->get_object()) {
    const std::string_view key(member.key().data(), member.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return make_error("bad_request", "unknown member \"" + std::string(key) + "\"");
    }
  }
  return std::move(value->get_object());
}

}  // namespace casefile::server::internal
