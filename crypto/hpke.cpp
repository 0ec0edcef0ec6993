#include "crypto/hpke.hpp"

#include <openssl/crypto.h>

#include <limits>

#include "crypto/aead.hpp"
#include "crypto/hkdf.hpp"
#include "crypto/internal/byte_codec.hpp"
#include "crypto/internal/hpke_key_schedule.hpp"

namespace casefile::crypto::hpke {
namespace internal {
namespace {

constexpr std::string_view kVersionLabel = "HPKE-v1";  // §4
constexpr std::size_t kSecretSize = 32;                // Nsecret, Nh, Nk
constexpr std::size_t kNonceSize = 12;                 // Nn

void append_u16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

// ExtractAndExpand (§4.1).
Result<SecretBytes> extract_and_expand(ByteView dh, ByteView kem_context) {
  const Bytes suite = kem_suite_id();
  const SecretBytes eae_prk = labeled_extract(suite, {}, "eae_prk", dh);
  return labeled_expand(suite, eae_prk.view(), "shared_secret", kem_context, kSecretSize);
}

// Copies a secret into a growing buffer; the buffer is wiped by SecretBytes at the end.
void append_secret(Bytes& out, const SecretBytes& secret) { crypto::internal::append(out, secret.view()); }

}  // namespace

Bytes kem_suite_id() {
  Bytes id = {'K', 'E', 'M'};
  append_u16(id, kKemId);
  return id;
}

Bytes hpke_suite_id() {
  Bytes id = {'H', 'P', 'K', 'E'};
  append_u16(id, kKemId);
  append_u16(id, kKdfId);
  append_u16(id, kAeadId);
  return id;
}

SecretBytes labeled_extract(ByteView suite_id, ByteView salt, std::string_view label, ByteView ikm) {
  Bytes labeled_ikm;
  crypto::internal::append(labeled_ikm, as_bytes(kVersionLabel));
  crypto::internal::append(labeled_ikm, suite_id);
  crypto::internal::append(labeled_ikm, as_bytes(label));
  crypto::internal::append(labeled_ikm, ikm);
  SecretBytes prk = hkdf_sha256_extract(salt, labeled_ikm);
  OPENSSL_cleanse(labeled_ikm.data(), labeled_ikm.size());
  return prk;
}

Result<SecretBytes> labeled_expand(ByteView suite_id, ByteView prk, std::string_view label, ByteView info,
                                   std::size_t length) {
  if (length > std::numeric_limits<std::uint16_t>::max()) {
    return make_error("invalid_length", "HPKE expand length must fit two bytes");
  }
  Bytes labeled_info;
  append_u16(labeled_info, static_cast<std::uint16_t>(length));
  crypto::internal::append(labeled_info, as_bytes(kVersionLabel));
  crypto::internal::append(labeled_info, suite_id);
  crypto::internal::append(labeled_info, as_bytes(label));
  crypto::internal::append(labeled_info, info);
  return hkdf_sha256_expand(prk, labeled_info, length);
}

Result<Encapsulation> encapsulate(ByteView recipient_public_key, const X25519PrivateKey& ephemeral,
                                  const X25519PrivateKey* sender) {
  auto dh = ephemeral.agree(recipient_public_key);
  if (!dh.ok()) return std::move(dh).error();
  SecretBytes dh_all = std::move(dh).value();
  Bytes kem_context;
  crypto::internal::append(kem_context, ephemeral.public_key());
  crypto::internal::append(kem_context, recipient_public_key);
  if (sender != nullptr) {
    auto static_dh = sender->agree(recipient_public_key);
    if (!static_dh.ok()) return std::move(static_dh).error();
    Bytes joined;
    append_secret(joined, dh_all);
    append_secret(joined, *static_dh);
    dh_all = SecretBytes(joined);
    OPENSSL_cleanse(joined.data(), joined.size());
    crypto::internal::append(kem_context, sender->public_key());
  }
  auto shared_secret = extract_and_expand(dh_all.view(), kem_context);
  if (!shared_secret.ok()) return std::move(shared_secret).error();
  return Encapsulation{Bytes(ephemeral.public_key().begin(), ephemeral.public_key().end()),
                       std::move(shared_secret).value()};
}

Result<SecretBytes> decapsulate(ByteView encapsulated_key, const X25519PrivateKey& recipient,
                                ByteView sender_public_key) {
  if (encapsulated_key.size() != kEncapsulatedKeySize) {
    return make_error("invalid_key", "HPKE encapsulated key must be 32 bytes");
  }
  auto dh = recipient.agree(encapsulated_key);
  if (!dh.ok()) return std::move(dh).error();
  SecretBytes dh_all = std::move(dh).value();
  Bytes kem_context;
  crypto::internal::append(kem_context, encapsulated_key);
  crypto::internal::append(kem_context, recipient.public_key());
  if (!sender_public_key.empty()) {
    auto static_dh = recipient.agree(sender_public_key);
    if (!static_dh.ok()) return std::move(static_dh).error();
    Bytes joined;
    append_secret(joined, dh_all);
    append_secret(joined, *static_dh);
    dh_all = SecretBytes(joined);
    OPENSSL_cleanse(joined.data(), joined.size());
    crypto::internal::append(kem_context, sender_public_key);
  }
  return extract_and_expand(dh_all.view(), kem_context);
}

Result<KeySchedule> key_schedule(Mode mode, ByteView shared_secret, ByteView info, ByteView psk,
                                 ByteView psk_id) {
  // VerifyPSKInputs (§5.1).
  const bool has_psk = !psk.empty();
  if (has_psk != !psk_id.empty()) return make_error("invalid_argument", "HPKE psk and psk_id go together");
  const bool psk_mode = mode == Mode::psk || mode == Mode::auth_psk;
  if (has_psk != psk_mode)
    return make_error("invalid_argument", "HPKE psk given in a mode without one, or missing");

  const Bytes suite = hpke_suite_id();
  const SecretBytes psk_id_hash = labeled_extract(suite, {}, "psk_id_hash", psk_id);
  const SecretBytes info_hash = labeled_extract(suite, {}, "info_hash", info);
  Bytes context = {static_cast<std::uint8_t>(mode)};
  crypto::internal::append(context, psk_id_hash.view());
  crypto::internal::append(context, info_hash.view());
  const SecretBytes secret = labeled_extract(suite, shared_secret, "secret", psk);

  auto key = labeled_expand(suite, secret.view(), "key", context, kAeadKeySize);
  auto base_nonce = labeled_expand(suite, secret.view(), "base_nonce", context, kNonceSize);
  auto exporter_secret = labeled_expand(suite, secret.view(), "exp", context, kSecretSize);
  if (!key.ok()) return std::move(key).error();
  if (!base_nonce.ok()) return std::move(base_nonce).error();
  if (!exporter_secret.ok()) return std::move(exporter_secret).error();
  return KeySchedule{std::move(key).value(), Bytes(base_nonce->view().begin(), base_nonce->view().end()),
                     std::move(exporter_secret).value()};
}

SenderContext ContextFactory::sender(KeySchedule schedule) {
  return SenderContext(std::move(schedule.key), std::move(schedule.base_nonce),
                       std::move(schedule.exporter_secret));
}

RecipientContext ContextFactory::recipient(KeySchedule schedule) {
  return RecipientContext(std::move(schedule.key), std::move(schedule.base_nonce),
                          std::move(schedule.exporter_secret));
}

}  // namespace internal

Result<X25519PrivateKey> derive_key_pair(ByteView input_key_material) {
  // §7.1.3: ikm needs at least Nsk bytes of entropy.
  if (input_key_material.size() < kX25519KeySize) {
    return make_error("invalid_argument", "DeriveKeyPair needs at least 32 bytes of input keying material");
  }
  const Bytes suite = internal::kem_suite_id();
  const SecretBytes dkp_prk = internal::labeled_extract(suite, {}, "dkp_prk", input_key_material);
  auto private_key = internal::labeled_expand(suite, dkp_prk.view(), "sk", {}, kX25519KeySize);
  if (!private_key.ok()) return std::move(private_key).error();
  return X25519PrivateKey::from_bytes(private_key->view());
}

Result<SecretBytes> Context::export_secret(ByteView exporter_context, std::size_t length) const {
  if (length > 255 * 32) return make_error("invalid_length", "HPKE export longer than 255 * 32 bytes");
  return internal::labeled_expand(internal::hpke_suite_id(), exporter_secret_.view(), "sec", exporter_context,
                                  length);
}

Result<Bytes> Context::current_nonce() const {
  // §5.2: the sequence number must not wrap; ours is 64 bits, within Nn's 96.
  if (sequence_number_ == std::numeric_limits<std::uint64_t>::max()) {
    return make_error("message_limit_reached", "HPKE context has sealed its last message");
  }
  Bytes nonce = base_nonce_;
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<std::uint8_t>(sequence_number_ >> (8 * i));
  }
  return nonce;
}

Result<Bytes> SenderContext::seal(ByteView associated_data, ByteView plaintext) {
  auto nonce = current_nonce();
  if (!nonce.ok()) return std::move(nonce).error();
  auto ciphertext =
      aead_seal(AeadAlgorithm::chacha20_poly1305, key_.view(), *nonce, associated_data, plaintext);
  if (ciphertext.ok()) ++sequence_number_;
  return ciphertext;
}

Result<SecretBytes> RecipientContext::open(ByteView associated_data, ByteView ciphertext) {
  auto nonce = current_nonce();
  if (!nonce.ok()) return std::move(nonce).error();
  auto plaintext =
      aead_open(AeadAlgorithm::chacha20_poly1305, key_.view(), *nonce, associated_data, ciphertext);
  if (!plaintext.ok()) return std::move(plaintext).error();
  ++sequence_number_;
  SecretBytes result(*plaintext);
  OPENSSL_cleanse(plaintext->data(), plaintext->size());
  return result;
}

Result<SenderSetup> setup_base_sender(ByteView recipient_public_key, ByteView info) {
  auto ephemeral = X25519PrivateKey::generate();
  if (!ephemeral.ok()) return std::move(ephemeral).error();
  auto encapsulation = internal::encapsulate(recipient_public_key, *ephemeral, nullptr);
  if (!encapsulation.ok()) return std::move(encapsulation).error();
  auto schedule =
      internal::key_schedule(internal::Mode::base, encapsulation->shared_secret.view(), info, {}, {});
  if (!schedule.ok()) return std::move(schedule).error();
  return SenderSetup{std::move(encapsulation->encapsulated_key),
                     internal::ContextFactory::sender(std::move(schedule).value())};
}

Result<RecipientContext> setup_base_recipient(ByteView encapsulated_key, const X25519PrivateKey& recipient,
                                              ByteView info) {
  auto shared_secret = internal::decapsulate(encapsulated_key, recipient, {});
  if (!shared_secret.ok()) return std::move(shared_secret).error();
  auto schedule = internal::key_schedule(internal::Mode::base, shared_secret->view(), info, {}, {});
  if (!schedule.ok()) return std::move(schedule).error();
  return internal::ContextFactory::recipient(std::move(schedule).value());
}

Result<SealedMessage> seal_base(ByteView recipient_public_key, ByteView info, ByteView associated_data,
                                ByteView plaintext) {
  auto setup = setup_base_sender(recipient_public_key, info);
  if (!setup.ok()) return std::move(setup).error();
  auto ciphertext = setup->context.seal(associated_data, plaintext);
  if (!ciphertext.ok()) return std::move(ciphertext).error();
  return SealedMessage{std::move(setup->encapsulated_key), std::move(ciphertext).value()};
}

Result<SecretBytes> open_base(ByteView encapsulated_key, const X25519PrivateKey& recipient, ByteView info,
                              ByteView associated_data, ByteView ciphertext) {
  auto context = setup_base_recipient(encapsulated_key, recipient, info);
  if (!context.ok()) return std::move(context).error();
  return context->open(associated_data, ciphertext);
}

Result<ExportedSecret> send_export_base(ByteView recipient_public_key, ByteView info,
                                        ByteView exporter_context, std::size_t length) {
  auto setup = setup_base_sender(recipient_public_key, info);
  if (!setup.ok()) return std::move(setup).error();
  auto secret = setup->context.export_secret(exporter_context, length);
  if (!secret.ok()) return std::move(secret).error();
  return ExportedSecret{std::move(setup->encapsulated_key), std::move(secret).value()};
}

Result<SecretBytes> receive_export_base(ByteView encapsulated_key, const X25519PrivateKey& recipient,
                                        ByteView info, ByteView exporter_context, std::size_t length) {
  auto context = setup_base_recipient(encapsulated_key, recipient, info);
  if (!context.ok()) return std::move(context).error();
  return context->export_secret(exporter_context, length);
}

}  // namespace casefile::crypto::hpke
