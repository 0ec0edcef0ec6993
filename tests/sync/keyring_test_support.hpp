// Fixed keys, ids and signed keyring chains shared by the keyring tests.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"
#include "sync/case_keyring.hpp"
#include "sync/keyring_manifest.hpp"

namespace casefile::sync::keyring_test {

template <std::size_t N>
std::array<std::uint8_t, N> filled(std::uint8_t first) {
  std::array<std::uint8_t, N> bytes{};
  for (std::size_t i = 0; i < N; ++i) bytes[i] = static_cast<std::uint8_t>(first + i);
  return bytes;
}

inline crypto::Ed25519PrivateKey authority_key(std::uint8_t seed_first = 0x01) {
  return crypto::Ed25519PrivateKey::from_seed(filled<32>(seed_first)).value();
}

inline crypto::X25519PrivateKey x25519_key(std::uint8_t first) {
  return crypto::X25519PrivateKey::from_bytes(filled<32>(first)).value();
}

inline crypto::SecretBytes case_key(std::uint8_t first) { return crypto::SecretBytes(filled<32>(first)); }

inline CaseId example_case() { return CaseId{filled<16>(0xc0)}; }
inline DeviceId device(std::uint8_t first) { return DeviceId{filled<16>(first)}; }

inline constexpr std::int64_t kIssuedAt = 0x0102030405;

// A recovery key, and the epochs of a case signed by `authority`: epoch e
// has the case key case_key(e * 0x10) and the members of members_by_epoch[e-1].
struct SignedChain {
  std::vector<KeyringManifest> manifests;
  std::vector<RotationPlan> plans;
};

inline SignedChain signed_chain(const crypto::Ed25519PrivateKey& authority,
                                const crypto::X25519PublicKey& recovery_public_key,
                                const std::vector<std::vector<DeviceId>>& members_by_epoch,
                                const CaseId& case_id = example_case()) {
  SignedChain chain;
  for (std::size_t i = 0; i < members_by_epoch.size(); ++i) {
    const auto key_first = static_cast<std::uint8_t>((i + 1) * 0x10);
    auto plan = i == 0 ? plan_first_epoch(case_id, members_by_epoch[i], recovery_public_key, 1,
                                          case_key(key_first), kIssuedAt)
                       : plan_rotation(chain.manifests.back(), members_by_epoch[i], case_key(key_first),
                                       kIssuedAt + static_cast<std::int64_t>(i));
    chain.manifests.push_back(sign_manifest(plan.value().manifest, authority).value());
    chain.plans.push_back(std::move(plan).value());
  }
  return chain;
}

// The certified signing keys a verifier knows, as the lookup a chain takes.
inline DeviceSigningKeyLookup certified_signers(std::map<DeviceId, crypto::Ed25519PublicKey> keys = {}) {
  return [keys = std::move(keys)](const DeviceId& device) -> std::optional<crypto::Ed25519PublicKey> {
    const auto found = keys.find(device);
    if (found == keys.end()) return std::nullopt;
    return found->second;
  };
}

// A chain whose epoch 1 (members = {creator}) is signed by the creating
// device (sign_genesis_manifest) and every later epoch by `authority`.
inline SignedChain genesis_chain(const crypto::Ed25519PrivateKey& authority,
                                 const crypto::Ed25519PrivateKey& creator_signing_key,
                                 const DeviceId& creator, const crypto::X25519PublicKey& recovery_public_key,
                                 const std::vector<std::vector<DeviceId>>& later_members_by_epoch,
                                 const CaseId& case_id = example_case()) {
  SignedChain chain;
  auto first =
      plan_first_epoch(case_id, {creator}, recovery_public_key, 1, case_key(0x10), kIssuedAt).value();
  first.manifest.authority_fingerprint = crypto::sha256(authority.public_key());
  chain.manifests.push_back(sign_genesis_manifest(first.manifest, creator_signing_key).value());
  chain.plans.push_back(std::move(first));
  for (std::size_t i = 0; i < later_members_by_epoch.size(); ++i) {
    const auto key_first = static_cast<std::uint8_t>((i + 2) * 0x10);
    auto plan = plan_rotation(chain.manifests.back(), later_members_by_epoch[i], case_key(key_first),
                              kIssuedAt + static_cast<std::int64_t>(i + 1))
                    .value();
    chain.manifests.push_back(sign_manifest(plan.manifest, authority).value());
    chain.plans.push_back(std::move(plan));
  }
  return chain;
}

}  // namespace casefile::sync::keyring_test
