// Strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
#pragma once

#include <string_view>

namespace casefile::sync::internal {

bool is_valid_utf8(std::string_view text);

}  // namespace casefile::sync::internal
