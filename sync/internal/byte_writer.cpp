#include "sync/internal/byte_writer.hpp"

#include <cassert>
#include <cstring>

namespace casefile::sync::internal {

// resize + memcpy rather than vector::insert, which GCC 12 at -O3 flags
// with a false -Warray-bounds.
void ByteWriter::raw(crypto::ByteView bytes) {
  if (bytes.empty()) return;
  const std::size_t old_size = out_.size();
  out_.resize(old_size + bytes.size());
  std::memcpy(out_.data() + old_size, bytes.data(), bytes.size());
}

void ByteWriter::short_text(std::string_view text) {
  assert(text.size() <= 0xffff);
  u16(static_cast<std::uint16_t>(text.size()));
  raw(crypto::as_bytes(text));
}

void ByteWriter::long_bytes(crypto::ByteView bytes) {
  assert(bytes.size() <= 0xffffffffu);
  u32(static_cast<std::uint32_t>(bytes.size()));
  raw(bytes);
}

std::optional<std::uint64_t> ByteReader::unsigned_be(int width) {
  if (remaining() < static_cast<std::size_t>(width)) {
    offset_ = input_.size();
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (int i = 0; i < width; ++i) value = value << 8 | input_[offset_++];
  return value;
}

std::optional<std::uint8_t> ByteReader::u8() {
  auto value = unsigned_be(1);
  if (!value) return std::nullopt;
  return static_cast<std::uint8_t>(*value);
}

std::optional<std::uint16_t> ByteReader::u16() {
  auto value = unsigned_be(2);
  if (!value) return std::nullopt;
  return static_cast<std::uint16_t>(*value);
}

std::optional<std::uint32_t> ByteReader::u32() {
  auto value = unsigned_be(4);
  if (!value) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

std::optional<std::uint64_t> ByteReader::u64() { return unsigned_be(8); }

bool ByteReader::raw(std::uint8_t* out, std::size_t size) {
  if (remaining() < size) {
    offset_ = input_.size();
    return false;
  }
  if (size > 0) std::memcpy(out, input_.data() + offset_, size);
  offset_ += size;
  return true;
}

std::optional<std::string> ByteReader::short_text() {
  auto size = u16();
  if (!size) return std::nullopt;
  std::string text(*size, '\0');
  if (!raw(reinterpret_cast<std::uint8_t*>(text.data()), text.size())) return std::nullopt;
  return text;
}

std::optional<crypto::Bytes> ByteReader::long_bytes(std::size_t max_size) {
  auto size = u32();
  if (!size || *size > max_size || *size > remaining()) {
    offset_ = input_.size();
    return std::nullopt;
  }
  crypto::Bytes bytes(*size);
  raw(bytes.data(), bytes.size());
  return bytes;
}

}  // namespace casefile::sync::internal
