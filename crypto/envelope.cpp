#include "crypto/envelope.hpp"

#include <openssl/crypto.h>

#include <bit>

#include "crypto/aead.hpp"
#include "crypto/constant_time.hpp"
#include "crypto/hkdf.hpp"
#include "crypto/internal/byte_codec.hpp"
#include "crypto/random.hpp"

namespace casefile::crypto {
namespace {

constexpr std::size_t kSaltSize = 32;
constexpr std::size_t kCommitmentSize = 32;
constexpr std::size_t kLengthPrefixSize = 4;
constexpr std::string_view kEncryptionLabel = "casefile/envelope/v1/encryption";
constexpr std::string_view kCommitmentLabel = "casefile/envelope/v1/commitment";

std::size_t max_envelope_size() {
  return kEnvelopeHeaderSize + padme_length(kLengthPrefixSize + kEnvelopeMaxPlaintextSize) + kAeadTagSize;
}
constexpr std::size_t kMinEnvelopeSize = kEnvelopeHeaderSize + kLengthPrefixSize + kAeadTagSize;

Error malformed(std::string message) { return make_error("malformed_envelope", std::move(message)); }

Status check_context(const FieldContext& context) {
  for (std::string_view part : {context.case_id, context.collection, context.record_id, context.field_name}) {
    if (part.empty() || part.size() > kEnvelopeMaxContextFieldSize) {
      return make_error("invalid_context", "each part of a field context must be 1 to 1024 bytes");
    }
  }
  return ok_status();
}

// header || len(case_id) || case_id || len(collection) || ... with 4-byte lengths,
// so no two contexts encode alike.
Bytes associated_data(ByteView header, const FieldContext& context) {
  Bytes data(header.begin(), header.end());
  for (std::string_view part : {context.case_id, context.collection, context.record_id, context.field_name}) {
    internal::append_u32(data, static_cast<std::uint32_t>(part.size()));
    internal::append(data, as_bytes(part));
  }
  return data;
}

struct ValueKeys {
  SecretBytes key;  // 32 bytes
  Bytes nonce;      // 12 bytes
  SecretBytes commitment;
};

// PRK = HKDF-Extract(salt, case key); (key || nonce) and the commitment are two
// HKDF-Expand outputs under distinct labels (docs/crypto.md).
Result<ValueKeys> derive_value_keys(ByteView case_key, ByteView salt) {
  const SecretBytes prk = hkdf_sha256_extract(salt, case_key);
  const std::uint8_t suite_suffix[] = {kEnvelopeVersion, kEnvelopeSuite};
  Bytes encryption_info(kEncryptionLabel.begin(), kEncryptionLabel.end());
  internal::append(encryption_info, suite_suffix);
  Bytes commitment_info(kCommitmentLabel.begin(), kCommitmentLabel.end());
  internal::append(commitment_info, suite_suffix);
  auto key_and_nonce = hkdf_sha256_expand(prk.view(), encryption_info, kAeadKeySize + kAeadNonceSize);
  auto commitment = hkdf_sha256_expand(prk.view(), commitment_info, kCommitmentSize);
  if (!key_and_nonce.ok()) return std::move(key_and_nonce).error();
  if (!commitment.ok()) return std::move(commitment).error();
  const ByteView material = key_and_nonce->view();
  return ValueKeys{SecretBytes(material.first(kAeadKeySize)),
                   Bytes(material.begin() + kAeadKeySize, material.end()), std::move(commitment).value()};
}

}  // namespace

std::size_t padme_length(std::size_t length) {
  if (length < 2) return length;
  // E = floor(log2 L), S = floor(log2 E) + 1; the low E - S bits are rounded up.
  const unsigned exponent = std::bit_width(length) - 1;
  const unsigned exponent_bits = std::bit_width(exponent);
  const unsigned low_bits = exponent - exponent_bits;
  const std::size_t mask = (std::size_t{1} << low_bits) - 1;
  return (length + mask) & ~mask;
}

Result<Bytes> seal_field(const FieldContext& context, std::uint32_t epoch, ByteView case_key,
                         ByteView plaintext) {
  if (case_key.size() != kCaseKeySize) return make_error("invalid_key", "case key must be 32 bytes");
  CASEFILE_RETURN_IF_ERROR(check_context(context));
  if (plaintext.size() > kEnvelopeMaxPlaintextSize) {
    return make_error("value_too_large", "sealed values are limited to 1 MiB");
  }
  auto salt = random_bytes(kSaltSize);
  if (!salt.ok()) return std::move(salt).error();
  auto keys = derive_value_keys(case_key, *salt);
  if (!keys.ok()) return std::move(keys).error();

  Bytes envelope;
  envelope.reserve(kEnvelopeHeaderSize + padme_length(kLengthPrefixSize + plaintext.size()) + kAeadTagSize);
  internal::append_u8(envelope, kEnvelopeVersion);
  internal::append_u8(envelope, kEnvelopeSuite);
  internal::append_u32(envelope, epoch);
  internal::append(envelope, *salt);
  internal::append(envelope, keys->commitment.view());

  // length u32 || plaintext || zeros, to the Padmé length of the whole.
  SecretBytes padded(padme_length(kLengthPrefixSize + plaintext.size()));
  Bytes length_prefix;
  internal::append_u32(length_prefix, static_cast<std::uint32_t>(plaintext.size()));
  std::copy(length_prefix.begin(), length_prefix.end(), padded.data());
  std::copy(plaintext.begin(), plaintext.end(), padded.data() + kLengthPrefixSize);

  auto ciphertext = aead_seal(AeadAlgorithm::chacha20_poly1305, keys->key.view(), keys->nonce,
                              associated_data(envelope, context), padded.view());
  if (!ciphertext.ok()) return std::move(ciphertext).error();
  internal::append(envelope, *ciphertext);
  return envelope;
}

Result<std::uint32_t> read_envelope_epoch(ByteView envelope) {
  internal::ByteReader reader(envelope);
  auto version = reader.u8();
  if (!version) return malformed("empty envelope");
  if (*version != kEnvelopeVersion) return make_error("unsupported_version", "unknown envelope version");
  if (envelope.size() < kMinEnvelopeSize) return malformed("envelope too short");
  if (envelope.size() > max_envelope_size()) return malformed("envelope too long");
  reader.u8();
  return *reader.u32();
}

Result<SecretBytes> open_field(const FieldContext& context, std::uint32_t epoch, ByteView case_key,
                               ByteView envelope) {
  auto claimed_epoch = read_envelope_epoch(envelope);
  if (!claimed_epoch.ok()) return std::move(claimed_epoch).error();
  if (envelope[1] != kEnvelopeSuite) return make_error("unsupported_suite", "unknown envelope suite");
  if (*claimed_epoch != epoch)
    return make_error("wrong_epoch", "envelope is sealed under another case-key epoch");
  if (case_key.size() != kCaseKeySize) return make_error("invalid_key", "case key must be 32 bytes");
  CASEFILE_RETURN_IF_ERROR(check_context(context));

  const ByteView header = envelope.first(kEnvelopeHeaderSize);
  const ByteView salt = header.subspan(6, kSaltSize);
  const ByteView commitment = header.subspan(6 + kSaltSize, kCommitmentSize);
  auto keys = derive_value_keys(case_key, salt);
  if (!keys.ok()) return std::move(keys).error();
  if (!constant_time_equal(keys->commitment.view(), commitment)) {
    return make_error("bad_commitment", "envelope does not commit to this case key");
  }
  auto padded = aead_open(AeadAlgorithm::chacha20_poly1305, keys->key.view(), keys->nonce,
                          associated_data(header, context), envelope.subspan(kEnvelopeHeaderSize));
  if (!padded.ok()) return make_error("decrypt_failed", "envelope does not authenticate in this context");
  SecretBytes inner(*padded);
  OPENSSL_cleanse(padded->data(), padded->size());

  // Authentic, so only a faulty sealer could make these fail; still checked strictly.
  internal::ByteReader reader(inner.view());
  const std::uint32_t length = *reader.u32();
  if (length > reader.remaining() || inner.size() != padme_length(kLengthPrefixSize + length)) {
    return malformed("envelope padding does not match its length");
  }
  auto value = reader.take(length);
  for (std::uint8_t byte : reader.rest()) {
    if (byte != 0) return malformed("envelope padding is not zero");
  }
  return SecretBytes(*value);
}

}  // namespace casefile::crypto
