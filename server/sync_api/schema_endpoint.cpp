#include "server/sync_api/schema_endpoint.hpp"

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "schema/intake_schema.hpp"
#include "schema/schema_json.hpp"

namespace casefile::server {
namespace {

// If-None-Match holds "*" or a comma-separated list of entity tags, each
// possibly weak ("W/"): the weak comparison of RFC 9110 §13.1.2.
bool matches_etag(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

}  // namespace

SchemaEndpoint::SchemaEndpoint() : body_(schema::schema_to_json_text(schema::current_declaration())) {
  etag_ = "\"" + crypto::to_hex(crypto::sha256(crypto::as_bytes(body_))) + "\"";
}

Response SchemaEndpoint::get(const Request& request) const {
  Response response;
  response.headers = {{"ETag", etag_}, {"Cache-Control", "public, max-age=300"}};
  if (matches_etag(request.header("If-None-Match"), etag_)) {
    response.status = 304;
    return response;
  }
  response.body = body_;
  return response;
}

}  // namespace casefile::server
