// HPKE, RFC 9180, for one suite: DHKEM(X25519, HKDF-SHA256) (0x0020),
// HKDF-SHA256 (0x0001), ChaCha20-Poly1305 (0x0003). Casefile wraps case keys
// to devices with it, in base mode, with `info` binding case, epoch and
// recipient (DESIGN §5). OpenSSL 3.0 has no HPKE; this is built on its
// X25519, HKDF and AEAD.
//
// Single-shot use (RFC 9180 §6.1): seal_base / open_base. Several messages
// under one encapsulation (§5.2): setup_base_sender / setup_base_recipient,
// then seal/open in order on the returned context. Secret export (§5.3, §6.2)
// on either context, or send_export_base / receive_export_base.
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"
#include "crypto/x25519.hpp"

namespace casefile::crypto::hpke {

inline constexpr std::uint16_t kKemId = 0x0020;          // DHKEM(X25519, HKDF-SHA256)
inline constexpr std::uint16_t kKdfId = 0x0001;          // HKDF-SHA256
inline constexpr std::uint16_t kAeadId = 0x0003;         // ChaCha20-Poly1305
inline constexpr std::size_t kEncapsulatedKeySize = 32;  // Nenc
inline constexpr std::size_t kTagSize = 16;              // Nt

namespace internal {
struct ContextFactory;
}

// DeriveKeyPair (§7.1.3): a deterministic key pair from at least 32 bytes of
// input keying material. Errors: "invalid_argument" (ikm shorter than 32 bytes).
Result<X25519PrivateKey> derive_key_pair(ByteView input_key_material);

// The state both sides share after setup (§5.1): key, base nonce, exporter
// secret and the sequence number of the next message.
class Context {
 public:
  // Export (§5.3): LabeledExpand(exporter_secret, "sec", exporter_context, length).
  // Errors: "invalid_length" (length > 255 * 32).
  Result<SecretBytes> export_secret(ByteView exporter_context, std::size_t length) const;
  std::uint64_t sequence_number() const { return sequence_number_; }

 protected:
  Context(SecretBytes key, Bytes base_nonce, SecretBytes exporter_secret)
      : key_(std::move(key)),
        base_nonce_(std::move(base_nonce)),
        exporter_secret_(std::move(exporter_secret)) {}
  // ComputeNonce (§5.2) for the current sequence number. Errors: "message_limit_reached".
  Result<Bytes> current_nonce() const;

  SecretBytes key_;
  Bytes base_nonce_;
  SecretBytes exporter_secret_;
  std::uint64_t sequence_number_ = 0;
};

class SenderContext : public Context {
 public:
  // Seals the next message; the sequence number advances on success.
  // Errors: "message_limit_reached".
  Result<Bytes> seal(ByteView associated_data, ByteView plaintext);

 private:
  friend struct internal::ContextFactory;
  using Context::Context;
};

class RecipientContext : public Context {
 public:
  // Opens the next message; the sequence number advances only on success.
  // Errors: "decrypt_failed", "message_limit_reached".
  Result<SecretBytes> open(ByteView associated_data, ByteView ciphertext);

 private:
  friend struct internal::ContextFactory;
  using Context::Context;
};

struct SenderSetup {
  Bytes encapsulated_key;  // enc, sent to the recipient
  SenderContext context;
};

// SetupBaseS / SetupBaseR (§5.1.1). Errors: "invalid_key", "weak_key"
// (a low-order public key or encapsulated key), "random_failed".
Result<SenderSetup> setup_base_sender(ByteView recipient_public_key, ByteView info);
Result<RecipientContext> setup_base_recipient(ByteView encapsulated_key, const X25519PrivateKey& recipient,
                                              ByteView info);

struct SealedMessage {
  Bytes encapsulated_key;
  Bytes ciphertext;  // ciphertext || 16-byte tag
};

// Single-shot (§6.1). Errors: those of setup, and "decrypt_failed".
Result<SealedMessage> seal_base(ByteView recipient_public_key, ByteView info, ByteView associated_data,
                                ByteView plaintext);
Result<SecretBytes> open_base(ByteView encapsulated_key, const X25519PrivateKey& recipient, ByteView info,
                              ByteView associated_data, ByteView ciphertext);

struct ExportedSecret {
  Bytes encapsulated_key;
  SecretBytes secret;
};

// Single-shot secret export (§6.2).
Result<ExportedSecret> send_export_base(ByteView recipient_public_key, ByteView info,
                                        ByteView exporter_context, std::size_t length);
Result<SecretBytes> receive_export_base(ByteView encapsulated_key, const X25519PrivateKey& recipient,
                                        ByteView info, ByteView exporter_context, std::size_t length);

}  // namespace casefile::crypto::hpke
