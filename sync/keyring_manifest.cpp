#include "sync/keyring_manifest.hpp"

#include <algorithm>
#include <stdexcept>

#include "crypto/constant_time.hpp"
#include "sync/internal/byte_writer.hpp"

namespace casefile::sync {
namespace {

using internal::ByteReader;
using internal::ByteWriter;

Error invalid(const std::string& why) {
  return make_error("keyring_manifest_invalid", "keyring manifest: " + why);
}

Error broken(const std::string& why) { return make_error("keyring_chain_broken", "keyring chain: " + why); }

bool same_digest(const crypto::Sha256Digest& a, const crypto::Sha256Digest& b) {
  return crypto::constant_time_equal(a, b);
}

// Links `next` to `previous`: one epoch later, naming its hash, and never a
// lower minimum envelope version.
Status check_link(const KeyringManifest& previous, const KeyringManifest& next) {
  if (next.epoch != previous.epoch + 1) {
    return broken("epoch " + std::to_string(next.epoch) + " follows epoch " + std::to_string(previous.epoch));
  }
  if (!same_digest(next.previous_manifest_hash, manifest_hash(previous))) {
    return broken("epoch " + std::to_string(next.epoch) + " does not name the hash of epoch " +
                  std::to_string(previous.epoch));
  }
  if (next.minimum_envelope_version < previous.minimum_envelope_version) {
    return make_error("keyring_format_lowered", "keyring chain: epoch " + std::to_string(next.epoch) +
                                                    " lowers the minimum envelope version");
  }
  return ok_status();
}

}  // namespace

Status check_manifest_fields(const KeyringManifest& manifest) {
  if (manifest.version != kKeyringManifestVersion) return invalid("unsupported version");
  if (manifest.epoch == 0 || manifest.epoch > kMaxKeyringEpoch) return invalid("epoch out of range");
  if (manifest.minimum_envelope_version == 0) return invalid("minimum envelope version 0");
  if (manifest.issued_at_ms < 0) return invalid("negative issued_at");
  if (manifest.members.size() > kMaxKeyringMembers) return invalid("too many members");
  const DeviceId nil{};
  for (std::size_t i = 0; i < manifest.members.size(); ++i) {
    if (manifest.members[i] == nil) return invalid("the nil id is not a device");
    if (i > 0 && !(manifest.members[i - 1] < manifest.members[i])) {
      return invalid("members not strictly ascending (unsorted or duplicated)");
    }
  }
  return ok_status();
}

crypto::Bytes encode_manifest_body(const KeyringManifest& manifest) {
  if (!check_manifest_fields(manifest).ok())
    throw std::invalid_argument("encode_manifest_body: invalid fields");
  ByteWriter writer;
  writer.u8(manifest.version);
  writer.raw(manifest.case_id.bytes);
  writer.u32(manifest.epoch);
  writer.u8(manifest.minimum_envelope_version);
  writer.u64(static_cast<std::uint64_t>(manifest.issued_at_ms));
  writer.raw(manifest.previous_manifest_hash);
  writer.raw(manifest.case_key_commitment);
  writer.raw(manifest.recovery_key_fingerprint);
  writer.u16(static_cast<std::uint16_t>(manifest.members.size()));
  for (const DeviceId& member : manifest.members) writer.raw(member.bytes);
  writer.raw(manifest.authority_fingerprint);
  return writer.take();
}

namespace {

crypto::Bytes labelled_message(std::string_view label, const KeyringManifest& manifest) {
  ByteWriter writer;
  writer.raw(crypto::as_bytes(label));
  writer.u8(0);
  writer.raw(encode_manifest_body(manifest));
  return writer.take();
}

Status check_genesis_shape(const KeyringManifest& manifest) {
  CASEFILE_RETURN_IF_ERROR(check_manifest_fields(manifest));
  if (manifest.epoch != 1) return invalid("a genesis manifest is epoch 1");
  if (manifest.members.size() != 1) return invalid("a genesis manifest has exactly one member");
  return ok_status();
}

}  // namespace

crypto::Bytes manifest_signing_message(const KeyringManifest& manifest) {
  return labelled_message(kKeyringManifestLabel, manifest);
}

crypto::Bytes genesis_signing_message(const KeyringManifest& manifest) {
  return labelled_message(kKeyringGenesisLabel, manifest);
}

Result<KeyringManifest> sign_genesis_manifest(KeyringManifest manifest,
                                              const crypto::Ed25519PrivateKey& device_signing_key) {
  CASEFILE_RETURN_IF_ERROR(check_genesis_shape(manifest));
  if (manifest.authority_fingerprint == crypto::Sha256Digest{}) {
    return invalid("a genesis manifest names the organisation authority");
  }
  auto signature = device_signing_key.sign(genesis_signing_message(manifest));
  if (!signature.ok()) return std::move(signature).error();
  manifest.signature = *signature;
  return manifest;
}

Status verify_genesis_manifest(const KeyringManifest& manifest, crypto::ByteView authority_public_key,
                               crypto::ByteView device_signing_public_key) {
  if (!same_digest(crypto::sha256(authority_public_key), manifest.authority_fingerprint)) {
    return make_error("keyring_wrong_authority", "the keyring manifest names another authority");
  }
  CASEFILE_RETURN_IF_ERROR(check_genesis_shape(manifest));
  if (!crypto::ed25519_verify(device_signing_public_key, genesis_signing_message(manifest),
                              manifest.signature)) {
    return make_error("keyring_signature_invalid", "the genesis manifest's device signature does not verify");
  }
  return ok_status();
}

Status verify_manifest_signer(const KeyringManifest& manifest, crypto::ByteView authority_public_key,
                              const DeviceSigningKeyLookup& device_signing_key) {
  Status by_authority = verify_manifest(manifest, authority_public_key);
  if (by_authority.ok() || by_authority.error().code != "keyring_signature_invalid" || manifest.epoch != 1 ||
      manifest.members.size() != 1) {
    return by_authority;
  }
  const std::optional<crypto::Ed25519PublicKey> signer =
      device_signing_key ? device_signing_key(manifest.members.front()) : std::nullopt;
  if (!signer) {
    return make_error("keyring_signature_invalid",
                      "epoch 1 is not signed by the authority, and its member device is unknown");
  }
  return verify_genesis_manifest(manifest, authority_public_key, *signer);
}

Result<KeyringManifest> sign_manifest(KeyringManifest manifest, const crypto::Ed25519PrivateKey& authority) {
  CASEFILE_RETURN_IF_ERROR(check_manifest_fields(manifest));
  manifest.authority_fingerprint = crypto::sha256(authority.public_key());
  auto signature = authority.sign(manifest_signing_message(manifest));
  if (!signature.ok()) return std::move(signature).error();
  manifest.signature = *signature;
  return manifest;
}

Status verify_manifest(const KeyringManifest& manifest, crypto::ByteView authority_public_key) {
  if (!same_digest(crypto::sha256(authority_public_key), manifest.authority_fingerprint)) {
    return make_error("keyring_wrong_authority", "the keyring manifest names another authority");
  }
  CASEFILE_RETURN_IF_ERROR(check_manifest_fields(manifest));
  if (!crypto::ed25519_verify(authority_public_key, manifest_signing_message(manifest), manifest.signature)) {
    return make_error("keyring_signature_invalid",
                      "the keyring manifest's authority signature does not verify");
  }
  return ok_status();
}

crypto::Bytes encode_manifest(const KeyringManifest& manifest) {
  crypto::Bytes bytes = encode_manifest_body(manifest);
  bytes.insert(bytes.end(), manifest.signature.begin(), manifest.signature.end());
  return bytes;
}

Result<KeyringManifest> decode_manifest(crypto::ByteView bytes) {
  ByteReader reader(bytes);
  KeyringManifest manifest;
  auto version = reader.u8();
  if (!version || *version != kKeyringManifestVersion) return invalid("unsupported version");
  manifest.version = *version;
  if (!reader.raw(manifest.case_id.bytes.data(), manifest.case_id.bytes.size())) return invalid("truncated");
  auto epoch = reader.u32();
  auto minimum_envelope_version = reader.u8();
  auto issued_at = reader.u64();
  if (!epoch || !minimum_envelope_version || !issued_at) return invalid("truncated");
  if (*issued_at > static_cast<std::uint64_t>(INT64_MAX)) return invalid("negative issued_at");
  manifest.epoch = *epoch;
  manifest.minimum_envelope_version = *minimum_envelope_version;
  manifest.issued_at_ms = static_cast<std::int64_t>(*issued_at);
  if (!reader.raw(manifest.previous_manifest_hash.data(), manifest.previous_manifest_hash.size()) ||
      !reader.raw(manifest.case_key_commitment.data(), manifest.case_key_commitment.size()) ||
      !reader.raw(manifest.recovery_key_fingerprint.data(), manifest.recovery_key_fingerprint.size())) {
    return invalid("truncated");
  }
  auto member_count = reader.u16();
  if (!member_count) return invalid("truncated");
  if (*member_count > kMaxKeyringMembers) return invalid("too many members");
  // Bounded before allocating: a hostile count cannot reserve more than the input holds.
  if (reader.remaining() < std::size_t{*member_count} * 16) return invalid("truncated");
  manifest.members.resize(*member_count);
  for (DeviceId& member : manifest.members) {
    if (!reader.raw(member.bytes.data(), member.bytes.size())) return invalid("truncated");
  }
  if (!reader.raw(manifest.authority_fingerprint.data(), manifest.authority_fingerprint.size()) ||
      !reader.raw(manifest.signature.data(), manifest.signature.size())) {
    return invalid("truncated");
  }
  if (!reader.at_end()) return invalid("trailing bytes");
  CASEFILE_RETURN_IF_ERROR(check_manifest_fields(manifest));
  return manifest;
}

crypto::Sha256Digest manifest_hash(const KeyringManifest& manifest) {
  return crypto::sha256(encode_manifest(manifest));
}

Result<KeyringManifest> verify_keyring_chain(const CaseId& case_id, std::span<const KeyringManifest> chain,
                                             crypto::ByteView authority_public_key,
                                             const DeviceSigningKeyLookup& device_signing_key,
                                             const std::optional<KeyringManifest>& accepted_head) {
  if (chain.empty()) return broken("no manifest");
  for (const KeyringManifest& manifest : chain) {
    CASEFILE_RETURN_IF_ERROR(verify_manifest_signer(manifest, authority_public_key, device_signing_key));
    if (manifest.case_id != case_id) {
      return make_error("keyring_case_mismatch", "keyring chain: epoch " + std::to_string(manifest.epoch) +
                                                     " belongs to another case");
    }
  }
  if (accepted_head && accepted_head->case_id != case_id) {
    return make_error("keyring_case_mismatch", "keyring chain: the accepted head belongs to another case");
  }

  const bool whole_chain = chain.front().epoch == 1;
  if (!whole_chain) {
    // A continuation of the accepted head: it is the chain's predecessor.
    if (!accepted_head)
      return broken("the first epoch is " + std::to_string(chain.front().epoch) + ", not 1");
    if (chain.front().epoch <= accepted_head->epoch) {
      return make_error("keyring_epoch_lower", "keyring chain: epoch " + std::to_string(chain.front().epoch) +
                                                   " is not above the accepted epoch " +
                                                   std::to_string(accepted_head->epoch));
    }
    CASEFILE_RETURN_IF_ERROR(check_link(*accepted_head, chain.front()));
  } else if (chain.front().previous_manifest_hash != crypto::Sha256Digest{}) {
    return broken("epoch 1 names a previous manifest");
  }
  for (std::size_t i = 1; i < chain.size(); ++i) CASEFILE_RETURN_IF_ERROR(check_link(chain[i - 1], chain[i]));

  if (whole_chain && accepted_head) {
    if (chain.back().epoch < accepted_head->epoch) {
      return make_error("keyring_epoch_lower",
                        "keyring chain: it stops at epoch " + std::to_string(chain.back().epoch) +
                            ", below the accepted " + std::to_string(accepted_head->epoch));
    }
    const KeyringManifest& at_accepted_epoch = chain[accepted_head->epoch - 1];
    if (!same_digest(manifest_hash(at_accepted_epoch), manifest_hash(*accepted_head))) {
      return broken("epoch " + std::to_string(accepted_head->epoch) +
                    " differs from the accepted one (a fork)");
    }
  }
  return chain.back();
}

}  // namespace casefile::sync
