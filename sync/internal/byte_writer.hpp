// Big-endian, length-prefixed writing and strict reading for the canonical
// encodings (change_encoding, record_state_encoding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"

namespace casefile::sync::internal {

class ByteWriter {
 public:
  void u8(std::uint8_t value) { out_.push_back(value); }
  void u16(std::uint16_t value) { unsigned_be(value, 2); }
  void u32(std::uint32_t value) { unsigned_be(value, 4); }
  void u64(std::uint64_t value) { unsigned_be(value, 8); }
  void raw(crypto::ByteView bytes);
  // u16 length, then the bytes. REQUIRES: text.size() <= 0xffff.
  void short_text(std::string_view text);
  // u32 length, then the bytes.
  void long_bytes(crypto::ByteView bytes);

  crypto::Bytes take() { return std::move(out_); }
  const crypto::Bytes& bytes() const { return out_; }

 private:
  void unsigned_be(std::uint64_t value, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
      out_.push_back(static_cast<std::uint8_t>(value >> shift));
  }
  crypto::Bytes out_;
};

// Reads until the first failure, after which every read fails; check ok() or
// the returned optionals.
class ByteReader {
 public:
  explicit ByteReader(crypto::ByteView input) : input_(input) {}

  std::optional<std::uint8_t> u8();
  std::optional<std::uint16_t> u16();
  std::optional<std::uint32_t> u32();
  std::optional<std::uint64_t> u64();
  // Copies exactly `size` bytes into `out`.
  bool raw(std::uint8_t* out, std::size_t size);
  std::optional<std::string> short_text();
  // REQUIRES max_size fits the caller's limit; longer inputs fail.
  std::optional<crypto::Bytes> long_bytes(std::size_t max_size);

  bool at_end() const { return offset_ == input_.size(); }
  std::size_t remaining() const { return input_.size() - offset_; }

 private:
  std::optional<std::uint64_t> unsigned_be(int width);
  crypto::ByteView input_;
  std::size_t offset_ = 0;
};

}  // namespace casefile::sync::internal
