#include "crypto/secret_bytes.hpp"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

namespace casefile::crypto {

SecretBytes::SecretBytes(std::size_t size)
    : data_(size == 0 ? nullptr : new std::uint8_t[size]()), size_(size) {}

SecretBytes::SecretBytes(ByteView bytes) : SecretBytes(bytes.size()) {
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

SecretBytes::~SecretBytes() { wipe_and_free(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe_and_free();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecretBytes::wipe_and_free() {
  if (data_ != nullptr) {
    OPENSSL_cleanse(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace casefile::crypto
