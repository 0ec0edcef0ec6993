#include "sync/case_key_wrap.hpp"

#include <stdexcept>

#include "crypto/envelope.hpp"
#include "crypto/hpke.hpp"
#include "sync/internal/byte_writer.hpp"

namespace casefile::sync {
namespace {

crypto::Bytes labelled(std::string_view label, const CaseId& case_id, std::uint32_t epoch) {
  internal::ByteWriter writer;
  writer.raw(crypto::as_bytes(label));
  writer.u8(0);
  writer.raw(case_id.bytes);
  writer.u32(epoch);
  return writer.take();
}

Error unwrap_failed() {
  return make_error("case_key_unwrap_failed",
                    "the case key wrap does not open for this recipient, case and epoch");
}

}  // namespace

crypto::Bytes case_key_wrap_info(const CaseId& case_id, std::uint32_t epoch, const DeviceId& recipient) {
  crypto::Bytes info = labelled(kCaseKeyWrapLabel, case_id, epoch);
  info.insert(info.end(), recipient.bytes.begin(), recipient.bytes.end());
  return info;
}

Result<crypto::Bytes> wrap_case_key(const crypto::SecretBytes& case_key, const CaseId& case_id,
                                    std::uint32_t epoch, const DeviceId& recipient,
                                    const crypto::X25519PublicKey& recipient_public_key) {
  if (case_key.size() != crypto::kCaseKeySize) {
    return make_error("invalid_key", "a case key is 32 bytes");
  }
  auto sealed = crypto::hpke::seal_base(recipient_public_key, case_key_wrap_info(case_id, epoch, recipient),
                                        {}, case_key.view());
  if (!sealed.ok()) return std::move(sealed).error();
  crypto::Bytes wrap = std::move(sealed->encapsulated_key);
  wrap.insert(wrap.end(), sealed->ciphertext.begin(), sealed->ciphertext.end());
  return wrap;
}

Result<crypto::SecretBytes> unwrap_case_key(crypto::ByteView wrap, const CaseId& case_id, std::uint32_t epoch,
                                            const DeviceId& recipient,
                                            const crypto::X25519PrivateKey& recipient_private_key) {
  if (wrap.size() != kCaseKeyWrapSize) return unwrap_failed();
  const crypto::ByteView encapsulated_key = wrap.first(crypto::hpke::kEncapsulatedKeySize);
  const crypto::ByteView ciphertext = wrap.subspan(crypto::hpke::kEncapsulatedKeySize);
  auto key = crypto::hpke::open_base(encapsulated_key, recipient_private_key,
                                     case_key_wrap_info(case_id, epoch, recipient), {}, ciphertext);
  if (!key.ok() || key->size() != crypto::kCaseKeySize) return unwrap_failed();
  return std::move(*key);
}

crypto::Sha256Digest case_key_commitment(const crypto::SecretBytes& case_key, const CaseId& case_id,
                                         std::uint32_t epoch) {
  if (case_key.size() != crypto::kCaseKeySize)
    throw std::invalid_argument("case_key_commitment: not a case key");
  return crypto::hmac_sha256(case_key.view(), labelled(kCaseKeyCommitmentLabel, case_id, epoch));
}

}  // namespace casefile::sync
