// SecretBytes: a move-only byte buffer that wipes itself (OPENSSL_cleanse)
// when destroyed, moved from, or resized. Hold every key in one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/bytes.hpp"

namespace casefile::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size);  // zero-filled
  explicit SecretBytes(ByteView bytes);    // copies
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteView view() const { return {data_, size_}; }
  std::span<std::uint8_t> span() { return {data_, size_}; }

  // An explicit copy, so that duplicating a secret is visible at the call site.
  SecretBytes clone() const { return SecretBytes(view()); }

 private:
  void wipe_and_free();

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace casefile::crypto
