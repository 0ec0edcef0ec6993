// Shared pieces of the access tests: a scratch directory, a control store in
// it, a clock the test moves, and a device with its own keys.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "crypto/ed25519.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/access/token_authenticator.hpp"
#include "sync/ids.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server::testing {

using test_support::ScratchDirectory;

inline crypto::SecretBytes random_key() { return test_support::random_database_key(); }

// Starts at a fixed time; tests advance it to expire codes, challenges and tokens.
struct ManualClock {
  std::int64_t now_ms = 1'700'000'000'000;
  AccessClock function() {
    return [this] { return now_ms; };
  }
};

template <typename Id>
Id random_id() {
  Id id;
  if (!crypto::fill_random(id.bytes).ok()) throw std::runtime_error("random failed");
  return id;
}

// A device's two new key pairs and id, as the device library would make them.
struct TestDevice {
  sync::DeviceId id = random_id<sync::DeviceId>();
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::generate().value();
  crypto::X25519PrivateKey wrapping = crypto::X25519PrivateKey::generate().value();
};

}  // namespace casefile::server::testing
