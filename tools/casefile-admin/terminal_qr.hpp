// A QR code drawn in the terminal with Unicode half blocks (two modules a
// character row), from libqrencode.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace casefile::admin {

// Light modules are drawn as blocks and dark ones as blanks, with a four-module
// quiet zone: a dark-background terminal then shows dark modules on light, as
// a scanner expects. Error correction level M. Errors: "qr_failed" (payload
// too long for a QR code, or out of memory).
Result<std::string> render_terminal_qr(std::string_view payload);

}  // namespace casefile::admin
