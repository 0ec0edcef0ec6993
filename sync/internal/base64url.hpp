// RFC 4648 §5 base64url without padding, decoded strictly: only the URL-safe
// alphabet, no '=' and no non-zero leftover bits, so each byte string has
// exactly one text form.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"

namespace casefile::sync::internal {

std::string base64url_encode(crypto::ByteView bytes);
std::optional<crypto::Bytes> base64url_decode(std::string_view text);

}  // namespace casefile::sync::internal
