// The steps of HPKE setup (RFC 9180 §4.1, §5.1), exposed so the RFC's test
// vectors can check each intermediate value and run with the RFC's fixed
// ephemeral keys, and so the PSK and Auth modes can be exercised. Product
// code uses crypto/hpke.hpp.
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "crypto/hpke.hpp"

namespace casefile::crypto::hpke::internal {

enum class Mode : std::uint8_t { base = 0x00, psk = 0x01, auth = 0x02, auth_psk = 0x03 };

// LabeledExtract / LabeledExpand (§4) under a suite id ("KEM" || kem_id for the
// KEM, "HPKE" || kem_id || kdf_id || aead_id for the rest).
SecretBytes labeled_extract(ByteView suite_id, ByteView salt, std::string_view label, ByteView ikm);
Result<SecretBytes> labeled_expand(ByteView suite_id, ByteView prk, std::string_view label, ByteView info,
                                   std::size_t length);
Bytes kem_suite_id();
Bytes hpke_suite_id();

struct Encapsulation {
  Bytes encapsulated_key;
  SecretBytes shared_secret;
};

// Encap / AuthEncap (§4.1) with the ephemeral key given. `sender` is null
// outside the Auth modes.
Result<Encapsulation> encapsulate(ByteView recipient_public_key, const X25519PrivateKey& ephemeral,
                                  const X25519PrivateKey* sender);
// Decap / AuthDecap; `sender_public_key` is empty outside the Auth modes.
Result<SecretBytes> decapsulate(ByteView encapsulated_key, const X25519PrivateKey& recipient,
                                ByteView sender_public_key);

struct KeySchedule {
  SecretBytes key;
  Bytes base_nonce;
  SecretBytes exporter_secret;
};

// KeySchedule (§5.1), with VerifyPSKInputs. Errors: "invalid_argument".
Result<KeySchedule> key_schedule(Mode mode, ByteView shared_secret, ByteView info, ByteView psk,
                                 ByteView psk_id);

struct ContextFactory {
  static SenderContext sender(KeySchedule schedule);
  static RecipientContext recipient(KeySchedule schedule);
};

}  // namespace casefile::crypto::hpke::internal
