#include "schema/internal/key_pragma.hpp"

#include <string>

namespace casefile::schema::internal {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Writes `x'<hex>'` at `out` and returns the position after it.
std::uint8_t* write_raw_key(std::uint8_t* out, const crypto::SecretBytes& key) {
  *out++ = 'x';
  *out++ = '\'';
  for (std::uint8_t byte : key.view()) {
    *out++ = static_cast<std::uint8_t>(kHexDigits[byte >> 4]);
    *out++ = static_cast<std::uint8_t>(kHexDigits[byte & 0x0f]);
  }
  *out++ = '\'';
  return out;
}

std::uint8_t* write_text(std::uint8_t* out, std::string_view text) {
  for (char c : text) *out++ = static_cast<std::uint8_t>(c);
  return out;
}

Status check_key_size(const crypto::SecretBytes& key) {
  if (key.size() != kDatabaseKeySize) {
    return make_error("invalid_key", "a database key is " + std::to_string(kDatabaseKeySize) +
                                         " bytes, got " + std::to_string(key.size()));
  }
  return ok_status();
}

}  // namespace

Result<crypto::SecretBytes> raw_key_statement(std::string_view prefix, const crypto::SecretBytes& key,
                                              std::string_view suffix) {
  CASEFILE_RETURN_IF_ERROR(check_key_size(key));
  const std::size_t raw_size = 3 + 2 * key.size();
  crypto::SecretBytes text(prefix.size() + 1 + raw_size + 1 + suffix.size() + 1);
  std::uint8_t* out = write_text(text.data(), prefix);
  *out++ = '"';
  out = write_raw_key(out, key);
  *out++ = '"';
  out = write_text(out, suffix);
  *out = 0;
  return text;
}

Result<crypto::SecretBytes> raw_key_text(const crypto::SecretBytes& key) {
  CASEFILE_RETURN_IF_ERROR(check_key_size(key));
  crypto::SecretBytes text(3 + 2 * key.size() + 1);
  *write_raw_key(text.data(), key) = 0;
  return text;
}

}  // namespace casefile::schema::internal
