#include "sync/internal/base64url.hpp"

#include <array>

namespace casefile::sync::internal {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_reverse() {
  std::array<std::int8_t, 256> reverse{};
  for (auto& entry : reverse) entry = -1;
  for (int i = 0; i < 64; ++i)
    reverse[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return reverse;
}

constexpr std::array<std::int8_t, 256> kReverse = make_reverse();

}  // namespace

std::string base64url_encode(crypto::ByteView bytes) {
  std::string text;
  text.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) text.push_back(kAlphabet[group >> shift & 0x3f]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t group = bytes[i] << 16;
    text.push_back(kAlphabet[group >> 18 & 0x3f]);
    text.push_back(kAlphabet[group >> 12 & 0x3f]);
  } else if (rest == 2) {
    const std::uint32_t group = bytes[i] << 16 | bytes[i + 1] << 8;
    text.push_back(kAlphabet[group >> 18 & 0x3f]);
    text.push_back(kAlphabet[group >> 12 & 0x3f]);
    text.push_back(kAlphabet[group >> 6 & 0x3f]);
  }
  return text;
}

std::optional<crypto::Bytes> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  crypto::Bytes bytes;
  bytes.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int value = kReverse[static_cast<unsigned char>(c)];
    if (value < 0) return std::nullopt;
    buffer = buffer << 6 | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<std::uint8_t>(buffer >> bits));
      buffer &= (1u << bits) - 1;
    }
  }
  if (buffer != 0) return std::nullopt;  // non-zero leftover bits: not the canonical form
  return bytes;
}

}  // namespace casefile::sync::internal
