#include "server/attachments/tus_headers.hpp"

#include <array>
#include <charconv>
#include <ctime>

namespace casefile::server {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  const auto found = kAlphabet.find(c);
  return found == std::string_view::npos ? -1 : static_cast<int>(found);
}

bool is_metadata_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// Splits on the first occurrence of `separator`; the second part is empty
// (and `found` false) without one.
std::pair<std::string_view, std::string_view> split_once(std::string_view text, char separator, bool& found) {
  const auto at = text.find(separator);
  found = at != std::string_view::npos;
  if (!found) return {text, {}};
  return {text.substr(0, at), text.substr(at + 1)};
}

// Digits only, at most 19 of them (below 2^63), no leading zero but "0".
std::optional<std::uint64_t> decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string base64_encode(crypto::ByteView bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) text.push_back(kAlphabet[(group >> shift) & 0x3f]);
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (left == 2) group |= std::uint32_t{bytes[i + 1]} << 8;
    text.push_back(kAlphabet[(group >> 18) & 0x3f]);
    text.push_back(kAlphabet[(group >> 12) & 0x3f]);
    text.push_back(left == 2 ? kAlphabet[(group >> 6) & 0x3f] : '=');
    text.push_back('=');
  }
  return text;
}

std::optional<crypto::Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  crypto::Bytes bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::string_view group = text.substr(i, 4);
    const std::size_t padding = last ? (group[3] == '=' ? (group[2] == '=' ? 2 : 1) : 0) : 0;
    std::uint32_t value = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int six = 0;
      if (j < 4 - padding) {
        six = sextet(group[j]);
        if (six < 0) return std::nullopt;
      } else if (group[j] != '=') {
        return std::nullopt;
      }
      value = (value << 6) | static_cast<std::uint32_t>(six);
    }
    bytes.push_back(static_cast<std::uint8_t>(value >> 16));
    if (padding < 2) bytes.push_back(static_cast<std::uint8_t>(value >> 8));
    if (padding < 1) bytes.push_back(static_cast<std::uint8_t>(value));
    // Leftover bits of a padded group must be zero: one text per byte string.
    if (padding == 2 && (value & 0xffff) != 0) return std::nullopt;
    if (padding == 1 && (value & 0xff) != 0) return std::nullopt;
  }
  return bytes;
}

Result<std::uint64_t> parse_byte_count(std::string_view text, std::string_view header) {
  const auto value = decimal(text);
  if (!value) {
    return make_error("invalid_header", std::string(header) + " must be a decimal number of bytes");
  }
  return *value;
}

Result<std::map<std::string, std::string, std::less<>>> parse_upload_metadata(std::string_view text) {
  const auto refuse = [](std::string_view why) {
    return make_error("invalid_upload_metadata", "Upload-Metadata " + std::string(why));
  };
  if (text.size() > kMaxUploadMetadataBytes) return refuse("is too long");
  std::map<std::string, std::string, std::less<>> pairs;
  if (text.empty()) return pairs;
  std::string_view rest = text;
  for (;;) {
    bool more = false;
    auto [pair, after] = split_once(rest, ',', more);
    if (pairs.size() == kMaxUploadMetadataPairs) return refuse("has too many keys");
    bool has_value = false;
    auto [key, encoded] = split_once(pair, ' ', has_value);
    if (key.empty() || key.size() > 64) return refuse("has an empty or overlong key");
    for (const char c : key) {
      if (!is_metadata_key_char(c)) return refuse("keys are lower-case letters, digits, '_', '.', '-'");
    }
    std::string value;
    if (has_value) {
      const auto decoded = base64_decode(encoded);
      if (!decoded || encoded.empty()) return refuse("values must be base64");
      value.assign(decoded->begin(), decoded->end());
    }
    if (!pairs.emplace(std::string(key), std::move(value)).second) return refuse("repeats a key");
    if (!more) break;
    rest = after;
  }
  return pairs;
}

Result<crypto::Sha256Digest> parse_upload_checksum(std::string_view text) {
  bool found = false;
  const auto [algorithm, encoded] = split_once(text, ' ', found);
  if (!found || algorithm.empty() || algorithm.size() > 32) {
    return make_error("invalid_upload_checksum", "Upload-Checksum must be '<algorithm> <base64 digest>'");
  }
  for (const char c : algorithm) {
    if (!is_metadata_key_char(c)) {
      return make_error("invalid_upload_checksum", "Upload-Checksum names its algorithm in lower case");
    }
  }
  if (algorithm != "sha256") {
    return make_error("checksum_algorithm_unsupported", "only the sha256 checksum algorithm is supported");
  }
  const auto digest = base64_decode(encoded);
  crypto::Sha256Digest result{};
  if (!digest || digest->size() != result.size()) {
    return make_error("invalid_upload_checksum", "the sha256 checksum must be the base64 of 32 bytes");
  }
  std::copy(digest->begin(), digest->end(), result.begin());
  return result;
}

Result<RangeRequest> parse_range(std::string_view text, std::uint64_t size) {
  const auto refuse = [] {
    return make_error("invalid_range", "Range must be bytes=first-last, bytes=first- or bytes=-suffix");
  };
  constexpr std::string_view kUnit = "bytes=";
  if (text.substr(0, kUnit.size()) != kUnit) return refuse();
  const std::string_view spec = text.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return RangeRequest{};  // several ranges: the whole entity
  bool found = false;
  const auto [first_text, last_text] = split_once(spec, '-', found);
  if (!found) return refuse();
  RangeRequest answer;
  answer.kind = RangeKind::partial;
  if (first_text.empty()) {
    const auto suffix = decimal(last_text);
    if (!suffix) return refuse();
    if (*suffix == 0 || size == 0) return RangeRequest{RangeKind::unsatisfiable, {}};
    const std::uint64_t length = std::min(*suffix, size);
    answer.range = ByteRange{size - length, length};
    return answer;
  }
  const auto first = decimal(first_text);
  if (!first) return refuse();
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    const auto parsed = decimal(last_text);
    if (!parsed || *parsed < *first) return refuse();
    last = std::min(*parsed, last);
  }
  if (*first >= size) return RangeRequest{RangeKind::unsatisfiable, {}};
  answer.range = ByteRange{*first, last - *first + 1};
  return answer;
}

std::string http_date(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  std::array<char, 64> text{};
  const std::size_t length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  return std::string(text.data(), length);
}

}  // namespace casefile::server
