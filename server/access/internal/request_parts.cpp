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
