#include "sync/recovery_key_statement.hpp"

#include "sync/internal/byte_writer.hpp"

namespace casefile::sync {

crypto::Bytes recovery_key_statement_message(const crypto::X25519PublicKey& recovery_public_key) {
  internal::ByteWriter writer;
  writer.raw(crypto::as_bytes(kRecoveryKeyStatementLabel));
  writer.u8(0);
  writer.raw(recovery_public_key);
  return writer.take();
}

Result<crypto::Ed25519Signature> sign_recovery_key_statement(
    const crypto::X25519PublicKey& recovery_public_key, const crypto::Ed25519PrivateKey& authority) {
  return authority.sign(recovery_key_statement_message(recovery_public_key));
}

Status verify_recovery_key_statement(const crypto::X25519PublicKey& recovery_public_key,
                                     crypto::ByteView signature, crypto::ByteView authority_public_key) {
  if (!crypto::ed25519_verify(authority_public_key, recovery_key_statement_message(recovery_public_key),
                              signature)) {
    return make_error("recovery_key_signature_invalid",
                      "the recovery key statement is not signed by the organisation authority");
  }
  return ok_status();
}

}  // namespace casefile::sync
