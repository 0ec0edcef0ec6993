// Small, strict readers of request parts shared by the access handlers.
#pragma once

#include <boost/json/object.hpp>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "server/http_message.hpp"

namespace casefile::server::internal {

// The token of "Authorization: Bearer <token>" (scheme case-insensitive), or
// std::nullopt when the header is absent or of another form.
std::optional<std::string_view> bearer_token(const Request& request);

// A JSON object body of at most 64 KiB with only `allowed` members.
// Errors: "bad_request" (the message says what is wrong).
Result<boost::json::object> parse_object_body(const Request& request,
                                              std::initializer_list<std::string_view> allowed);

}  // namespace casefile::server::internal
