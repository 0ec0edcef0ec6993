// GET /v1/schema: the current schema declaration (schema/schema_json.hpp),
// public, with a strong ETag so that devices revalidate it for free
// (If-None-Match -> 304 Not Modified) and caches may keep it.
#pragma once

#include <string>

#include "server/http_message.hpp"

namespace casefile::server {

class SchemaEndpoint {
 public:
  SchemaEndpoint();  // serializes the declaration once

  Response get(const Request& request) const;
  const std::string& etag() const { return etag_; }

 private:
  std::string body_;
  std::string etag_;  // "\"<64 hex of SHA-256(body)>\""
};

}  // namespace casefile::server
