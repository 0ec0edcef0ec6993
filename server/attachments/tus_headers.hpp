// Strict parsers and formatters for the headers of tus 1.0.0 uploads and
// range downloads (docs/protocol.md, "Attachments"). Every input is hostile:
// anything that is not exactly the documented form is refused, nothing is
// guessed. Pure functions, no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

namespace casefile::server {

inline constexpr std::size_t kMaxUploadMetadataBytes = 4096;
inline constexpr std::size_t kMaxUploadMetadataPairs = 16;

// RFC 4648 §4 base64 with padding, decoded strictly: the standard alphabet,
// exact padding, no whitespace, no non-zero leftover bits.
std::string base64_encode(crypto::ByteView bytes);
std::optional<crypto::Bytes> base64_decode(std::string_view text);

// A decimal count of bytes: 1 to 19 digits, no sign, no leading zero (but "0").
// Errors: "invalid_header" naming `header`.
Result<std::uint64_t> parse_byte_count(std::string_view text, std::string_view header);

// Upload-Metadata: "key base64,key base64,..." (a key may stand alone, with
// an empty value). Keys are 1 to 64 of [a-z0-9_.-]; duplicates are refused.
// Errors: "invalid_upload_metadata".
Result<std::map<std::string, std::string, std::less<>>> parse_upload_metadata(std::string_view text);

// Upload-Checksum: "<algorithm> <base64 digest>". Only sha256 is supported.
// Errors: "checksum_algorithm_unsupported" (a well-formed other algorithm),
// "invalid_upload_checksum" (anything malformed, or a digest not 32 bytes).
Result<crypto::Sha256Digest> parse_upload_checksum(std::string_view text);

// One byte range of an entity of `size` bytes (RFC 9110 §14).
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

// The outcome of a Range header against an entity of `size` bytes.
enum class RangeKind {
  whole,          // no Range, or one this server answers with the whole entity (multi-range)
  partial,        // 206 with `range`
  unsatisfiable,  // 416
};

struct RangeRequest {
  RangeKind kind = RangeKind::whole;
  ByteRange range;
};

// "bytes=a-b", "bytes=a-" or "bytes=-n" (the last n bytes). A list of ranges
// is answered whole. A range starting at or past `size` is unsatisfiable.
// Errors: "invalid_range" (malformed: 400, unlike RFC 9110's "ignore it", so a
// client bug is seen).
Result<RangeRequest> parse_range(std::string_view text, std::uint64_t size);

// RFC 7231 §7.1.1.1 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point time);

}  // namespace casefile::server
