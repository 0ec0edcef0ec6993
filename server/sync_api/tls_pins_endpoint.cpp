#include "server/sync_api/tls_pins_endpoint.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <system_error>

#include "sync/tls_pin_statement.hpp"

namespace casefile::server {

std::filesystem::path tls_pin_statement_path(const std::filesystem::path& tls_certificate) {
  return tls_certificate.parent_path() / "pins.statement";
}

Status register_tls_pins_route(Router& router, std::filesystem::path statement_file) {
  RouteOptions blocking;
  blocking.execution = RouteExecution::blocking_pool;
  return router.add(
      "GET", "/v1/tls-pins",
      [file = std::move(statement_file)](const Request&) -> Response {
        std::error_code error;
        if (!std::filesystem::exists(file, error)) {
          return error_response(404, "not_found", "no TLS pin statement has been issued");
        }
        std::ifstream in(file, std::ios::binary);
        std::string text;
        // Bounded: one character more than a statement may have.
        text.resize(sync::kMaxTlsPinStatementText + 2);
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(in.gcount()));
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        auto statement = sync::tls_pin_statement_from_text(text);
        if (!statement.ok()) {
          return error_response(503, "tls_pins_unavailable", "the stored TLS pin statement is unreadable");
        }
        return json_response(200, boost::json::object{{"statement", text}});
      },
      blocking);
}

}  // namespace casefile::server
