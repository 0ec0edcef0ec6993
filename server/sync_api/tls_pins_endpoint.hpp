// GET /v1/tls-pins: the authority-signed TLS pin statement
// (sync/tls_pin_statement.hpp) that `casefile-admin tls prepare` and
// `tls rotate` write to tls/pins.statement in the instance. Public (the
// statement is signed; devices verify it), re-read from the file on every
// request so a new statement needs no reload.
//   200 {"statement": "<base64url>"}
//   404 not_found      no statement has been issued
//   503 tls_pins_unavailable   the file is unreadable or not a statement
#pragma once

#include <filesystem>

#include "base/result.hpp"
#include "server/router.hpp"

namespace casefile::server {

// tls/pins.statement beside the TLS certificate.
std::filesystem::path tls_pin_statement_path(const std::filesystem::path& tls_certificate);

// Runs on the blocking pool (a file read). Errors: the Router's.
Status register_tls_pins_route(Router& router, std::filesystem::path statement_file);

}  // namespace casefile::server
