// SHA-256 and HMAC-SHA256.
#pragma once

#include <array>
#include <cstdint>

#include "crypto/bytes.hpp"

namespace casefile::crypto {

inline constexpr std::size_t kSha256Size = 32;
using Sha256Digest = std::array<std::uint8_t, kSha256Size>;

Sha256Digest sha256(ByteView data);

// Incremental SHA-256, for content that arrives in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(ByteView data);
  Sha256Digest finish();  // REQUIRES: called once

 private:
  struct State;
  State* state_;
};

Sha256Digest hmac_sha256(ByteView key, ByteView data);

}  // namespace casefile::crypto
