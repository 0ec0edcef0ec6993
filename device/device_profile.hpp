// What a device knows about itself: its enrolment, its server and the
// certificate the organisation's authority gave it. Persisted in the replica
// (device_profile_store.hpp); the keys themselves are not part of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/x25519.hpp"
#include "sync/device_certificate.hpp"
#include "sync/ids.hpp"

namespace casefile::device {

// Where the device syncs: parsed from the enrolment payload's "url" and "pin".
struct ServerEndpoint {
  std::string url;   // "https://host:port", as the payload gave it
  std::string host;  // host name or address, for TLS SNI and the Host header
  std::uint16_t port = 0;
  crypto::Sha256Digest pin{};  // SHA-256 of the server's TLS SubjectPublicKeyInfo
};

enum class EnrolmentState { not_enrolled, pending, certified };

// What the device knows about itself; persisted in the replica.
struct DeviceProfile {
  sync::DeviceId device_id;  // random, made at create()
  EnrolmentState state = EnrolmentState::not_enrolled;
  std::optional<ServerEndpoint> server;                       // set by begin_enrolment
  std::optional<crypto::Sha256Digest> authority_fingerprint;  // set by begin_enrolment
  std::optional<crypto::Ed25519PublicKey> authority_key;      // set by record_certificate
  std::optional<sync::DeviceCertificate> certificate;         // set by record_certificate
  // The organisation's recovery key, once its authority statement verified
  // (FieldDevice::record_recovery_key): every genesis epoch is wrapped to it.
  std::optional<crypto::X25519PublicKey> recovery_public_key;
};

// A case whose keyring this device accepted: the head's epoch, whether the
// device has since wrapped the earlier epochs it holds to the head's members
// that lacked them (docs/device-sync.md), and whether it holds them all.
struct KeyringHeadSummary {
  sync::CaseId case_id;
  std::uint32_t epoch = 0;
  bool held_epochs_shared = false;
  // The device holds the key of every epoch 1..epoch. Until it does, each
  // sync round asks again: a member device may have wrapped the missing ones
  // to it since (a colleague added to the case).
  bool holds_every_epoch = false;
};

// "not_enrolled", "pending", "certified".
std::string_view enrolment_state_name(EnrolmentState state);
std::optional<EnrolmentState> parse_enrolment_state(std::string_view name);

}  // namespace casefile::device
