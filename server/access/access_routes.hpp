// Registers AccessService's handlers on casefiled's Router, each on the
// blocking pool (they touch SQLite). `service` must outlive `router`.
#pragma once

#include "base/result.hpp"
#include "server/access/access_service.hpp"
#include "server/router.hpp"

namespace casefile::server {

// Errors: the Router's ("duplicate_route" if a route is already taken).
Status register_access_routes(Router& router, AccessService& service);

}  // namespace casefile::server
