// Big-endian integers and length-checked reads for the binary formats of
// envelopes and key files. Header-only: tiny and hot.
#pragma once

#include <cstdint>
#include <optional>

#include "crypto/bytes.hpp"

namespace casefile::crypto::internal {

inline void append(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

inline void append_u8(Bytes& out, std::uint8_t value) { out.push_back(value); }

inline void append_u32(Bytes& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// Reads fields front to back; every read fails once the input is exhausted.
class ByteReader {
 public:
  explicit ByteReader(ByteView input) : input_(input) {}

  std::optional<ByteView> take(std::size_t size) {
    if (size > input_.size() - offset_) return std::nullopt;
    ByteView taken = input_.subspan(offset_, size);
    offset_ += size;
    return taken;
  }
  std::optional<std::uint8_t> u8() {
    auto bytes = take(1);
    if (!bytes) return std::nullopt;
    return (*bytes)[0];
  }
  std::optional<std::uint32_t> u32() {
    auto bytes = take(4);
    if (!bytes) return std::nullopt;
    return (std::uint32_t{(*bytes)[0]} << 24) | (std::uint32_t{(*bytes)[1]} << 16) |
           (std::uint32_t{(*bytes)[2]} << 8) | std::uint32_t{(*bytes)[3]};
  }
  ByteView rest() {
    ByteView remaining = input_.subspan(offset_);
    offset_ = input_.size();
    return remaining;
  }
  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return input_.size() - offset_; }

 private:
  ByteView input_;
  std::size_t offset_ = 0;
};

}  // namespace casefile::crypto::internal
