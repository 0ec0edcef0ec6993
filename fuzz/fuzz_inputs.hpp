// The fixed keys and contexts the crypto fuzz targets open under, shared with
// make_seed_corpus.cpp, which seals the seeds under the same ones.
#pragma once

#include <cstdlib>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/envelope.hpp"
#include "crypto/hpke.hpp"
#include "crypto/x25519.hpp"

namespace casefile::fuzz {

inline constexpr crypto::FieldContext kEnvelopeContext{"0190f1e2-aaaa-4bbb-8ccc-0123456789ab", "interviews",
                                                       "0190f1e2-bbbb-4ccc-8ddd-0123456789ab", "allegation"};

// A fixed case key: 32 bytes 0x00..0x1f. Not a secret: a fuzzing fixture.
inline crypto::ByteView envelope_case_key() {
  static const crypto::Bytes key = [] {
    crypto::Bytes bytes(crypto::kCaseKeySize);
    for (std::size_t index = 0; index < bytes.size(); ++index)
      bytes[index] = static_cast<std::uint8_t>(index);
    return bytes;
  }();
  return key;
}

inline crypto::Bytes hex_bytes(std::string_view hex) {
  crypto::Bytes bytes;
  if (!crypto::from_hex(hex, bytes)) std::abort();
  return bytes;
}

// RFC 9180 Appendix A.2 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305), base mode: the recipient and info of the vector in
// ../shared/testvectors/hpke/.
struct HpkeVector {
  crypto::X25519PrivateKey recipient;
  crypto::Bytes info;
};

inline const HpkeVector& hpke_vector() {
  static const HpkeVector vector = [] {
    auto recipient = crypto::hpke::derive_key_pair(
        hex_bytes("1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df"));
    if (!recipient.ok()) std::abort();
    return HpkeVector{std::move(recipient).value(), hex_bytes("4f6465206f6e2061204772656369616e2055726e")};
  }();
  return vector;
}

}  // namespace casefile::fuzz
