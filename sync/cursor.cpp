#include "sync/cursor.hpp"

#include "sync/internal/base64url.hpp"
#include "sync/internal/byte_writer.hpp"

namespace casefile::sync {
namespace {

constexpr std::uint8_t kCursorVersion = 1;

}  // namespace

std::string encode_cursor(std::uint64_t sequence) {
  if (sequence == 0) return {};
  internal::ByteWriter writer;
  writer.u8(kCursorVersion);
  writer.u64(sequence);
  return internal::base64url_encode(writer.bytes());
}

Result<std::uint64_t> decode_cursor(std::string_view cursor) {
  if (cursor.empty()) return std::uint64_t{0};
  const Error invalid = make_error("invalid_cursor", "the cursor was not issued by this server");
  auto bytes = internal::base64url_decode(cursor);
  if (!bytes || bytes->size() != 9) return invalid;
  internal::ByteReader reader(*bytes);
  auto version = reader.u8();
  auto sequence = reader.u64();
  if (!version || *version != kCursorVersion || !sequence || *sequence == 0) return invalid;
  return *sequence;
}

}  // namespace casefile::sync
