// HPKE against RFC 9180 Appendix A.2 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305), every mode in the file: DeriveKeyPair, the shared
// secret, the key schedule, every encryption (through a context, in sequence)
// and every export. Then the public single-shot API on fresh keys.
#include "crypto/hpke.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/internal/hpke_key_schedule.hpp"

namespace casefile::crypto::hpke {
namespace {

using Record = std::map<std::string, std::string>;

struct ModeVectors {
  std::string title;
  Record setup;
  std::vector<Record> encryptions;
  std::vector<Record> exports;
};

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r");
  const auto last = text.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// The RFC's text format: "### <Mode> Setup Information", "#### Encryptions",
// "#### Exported Values", each followed by a ~~~ block of "name: value" lines
// whose hex values may continue on following lines; blank lines separate the
// records of a block.
std::vector<ModeVectors> load_rfc9180_vectors() {
  const std::string path =
      std::string(CASEFILE_TESTVECTORS_DIR) + "/hpke/rfc9180-A2-x25519-sha256-chacha20poly1305.txt";
  std::ifstream input(path);
  if (!input) throw std::runtime_error("missing test vector file " + path);
  std::vector<ModeVectors> modes;
  std::vector<Record>* block = nullptr;
  Record* record = nullptr;
  std::string key;
  bool in_block = false;
  enum class Part { setup, encryptions, exports } part = Part::setup;
  std::string line;
  while (std::getline(input, line)) {
    line = trim(line);
    if (line.rfind("### ", 0) == 0 && line.find("Setup Information") != std::string::npos) {
      modes.push_back({line.substr(4), {}, {}, {}});
      part = Part::setup;
    } else if (line == "#### Encryptions") {
      part = Part::encryptions;
    } else if (line == "#### Exported Values") {
      part = Part::exports;
    } else if (line == "~~~") {
      in_block = !in_block;
      record = nullptr;
      if (in_block && !modes.empty()) {
        block = part == Part::encryptions ? &modes.back().encryptions
                : part == Part::exports   ? &modes.back().exports
                                          : nullptr;
      }
    } else if (in_block && !modes.empty()) {
      if (line.empty()) {
        record = nullptr;
        continue;
      }
      if (record == nullptr) {
        if (block == nullptr) {
          record = &modes.back().setup;
        } else {
          block->emplace_back();
          record = &block->back();
        }
      }
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        key = trim(line.substr(0, colon));
        (*record)[key] = trim(line.substr(colon + 1));
      } else {
        (*record)[key] += line;  // continuation of a wrapped hex value
      }
    }
  }
  return modes;
}

Bytes hex(const Record& record, const std::string& key) {
  const auto found = record.find(key);
  if (found == record.end()) throw std::runtime_error("vector lacks " + key);
  Bytes bytes;
  if (!from_hex(found->second, bytes)) throw std::runtime_error("bad hex in " + key);
  return bytes;
}

Bytes copy(ByteView view) { return Bytes(view.begin(), view.end()); }

internal::Mode mode_of(const Record& setup) {
  return static_cast<internal::Mode>(std::stoi(setup.at("mode")));
}

bool is_auth(internal::Mode mode) { return mode == internal::Mode::auth || mode == internal::Mode::auth_psk; }

X25519PrivateKey derive(const Record& setup, const std::string& which) {
  auto key = derive_key_pair(hex(setup, "ikm" + which));
  if (!key.ok()) throw std::runtime_error("DeriveKeyPair failed: " + key.error().message);
  return std::move(key).value();
}

void check_mode(const ModeVectors& vectors) {
  SCOPED_TRACE(vectors.title);
  const Record& setup = vectors.setup;
  ASSERT_EQ(setup.at("kem_id"), "32");
  ASSERT_EQ(setup.at("kdf_id"), "1");
  ASSERT_EQ(setup.at("aead_id"), "3");
  const internal::Mode mode = mode_of(setup);

  // DeriveKeyPair (§7.1.3) for the ephemeral, recipient and (Auth) sender keys.
  const X25519PrivateKey ephemeral = derive(setup, "E");
  const X25519PrivateKey recipient = derive(setup, "R");
  EXPECT_EQ(copy(ephemeral.private_bytes().view()), hex(setup, "skEm"));
  EXPECT_EQ(copy(ephemeral.public_key()), hex(setup, "pkEm"));
  EXPECT_EQ(copy(recipient.private_bytes().view()), hex(setup, "skRm"));
  EXPECT_EQ(copy(recipient.public_key()), hex(setup, "pkRm"));
  std::optional<X25519PrivateKey> sender;
  if (is_auth(mode)) {
    sender.emplace(derive(setup, "S"));
    EXPECT_EQ(copy(sender->private_bytes().view()), hex(setup, "skSm"));
    EXPECT_EQ(copy(sender->public_key()), hex(setup, "pkSm"));
  }

  // Encap and Decap agree with the published shared secret.
  auto encapsulation = internal::encapsulate(recipient.public_key(), ephemeral, sender ? &*sender : nullptr);
  ASSERT_TRUE(encapsulation.ok()) << encapsulation.error().message;
  EXPECT_EQ(encapsulation->encapsulated_key, hex(setup, "enc"));
  EXPECT_EQ(copy(encapsulation->shared_secret.view()), hex(setup, "shared_secret"));
  const Bytes sender_public = sender ? copy(sender->public_key()) : Bytes();
  auto decapsulated = internal::decapsulate(hex(setup, "enc"), recipient, sender_public);
  ASSERT_TRUE(decapsulated.ok()) << decapsulated.error().message;
  EXPECT_EQ(copy(decapsulated->view()), hex(setup, "shared_secret"));

  // Key schedule (§5.1).
  const bool psk_mode = mode == internal::Mode::psk || mode == internal::Mode::auth_psk;
  const Bytes psk = psk_mode ? hex(setup, "psk") : Bytes();
  const Bytes psk_id = psk_mode ? hex(setup, "psk_id") : Bytes();
  auto make_schedule = [&] {
    auto schedule =
        internal::key_schedule(mode, hex(setup, "shared_secret"), hex(setup, "info"), psk, psk_id);
    if (!schedule.ok()) throw std::runtime_error("key schedule failed: " + schedule.error().message);
    return std::move(schedule).value();
  };
  internal::KeySchedule schedule = make_schedule();
  EXPECT_EQ(copy(schedule.key.view()), hex(setup, "key"));
  EXPECT_EQ(schedule.base_nonce, hex(setup, "base_nonce"));
  EXPECT_EQ(copy(schedule.exporter_secret.view()), hex(setup, "exporter_secret"));

  // Encryptions: both contexts walk the sequence from 0; the listed numbers are checked.
  SenderContext sender_context = internal::ContextFactory::sender(make_schedule());
  RecipientContext recipient_context = internal::ContextFactory::recipient(make_schedule());
  ASSERT_FALSE(vectors.encryptions.empty());
  std::size_t checked = 0;
  for (const Record& encryption : vectors.encryptions) {
    const std::uint64_t target = std::stoull(encryption.at("sequence number"));
    while (sender_context.sequence_number() < target) {
      const std::string aad = "Count-" + std::to_string(sender_context.sequence_number());
      auto filler = sender_context.seal(as_bytes(aad), hex(encryption, "pt"));
      ASSERT_TRUE(filler.ok());
      ASSERT_TRUE(recipient_context.open(as_bytes(aad), *filler).ok());
    }
    auto ciphertext = sender_context.seal(hex(encryption, "aad"), hex(encryption, "pt"));
    ASSERT_TRUE(ciphertext.ok());
    EXPECT_EQ(*ciphertext, hex(encryption, "ct")) << "sequence number " << target;
    auto plaintext = recipient_context.open(hex(encryption, "aad"), hex(encryption, "ct"));
    ASSERT_TRUE(plaintext.ok()) << "sequence number " << target;
    EXPECT_EQ(copy(plaintext->view()), hex(encryption, "pt"));
    ++checked;
  }
  EXPECT_EQ(checked, vectors.encryptions.size());

  // Exports (§5.3), from both sides.
  ASSERT_FALSE(vectors.exports.empty());
  for (const Record& exported : vectors.exports) {
    const std::size_t length = std::stoul(exported.at("L"));
    auto from_sender = sender_context.export_secret(hex(exported, "exporter_context"), length);
    auto from_recipient = recipient_context.export_secret(hex(exported, "exporter_context"), length);
    ASSERT_TRUE(from_sender.ok() && from_recipient.ok());
    EXPECT_EQ(copy(from_sender->view()), hex(exported, "exported_value"));
    EXPECT_EQ(copy(from_recipient->view()), hex(exported, "exported_value"));
  }
}

TEST(HpkeRfc9180, BaseModeMatchesAppendixA2) {
  const auto modes = load_rfc9180_vectors();
  std::size_t base_modes = 0;
  for (const ModeVectors& vectors : modes) {
    if (mode_of(vectors.setup) != internal::Mode::base) continue;
    ++base_modes;
    check_mode(vectors);
    // The public base-mode recipient API reproduces the first encryption and export.
    auto recipient = derive_key_pair(hex(vectors.setup, "ikmR"));
    ASSERT_TRUE(recipient.ok());
    const Record& first = vectors.encryptions.front();
    auto opened = open_base(hex(vectors.setup, "enc"), *recipient, hex(vectors.setup, "info"),
                            hex(first, "aad"), hex(first, "ct"));
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(copy(opened->view()), hex(first, "pt"));
    const Record& exported = vectors.exports.back();
    auto secret = receive_export_base(hex(vectors.setup, "enc"), *recipient, hex(vectors.setup, "info"),
                                      hex(exported, "exporter_context"), std::stoul(exported.at("L")));
    ASSERT_TRUE(secret.ok());
    EXPECT_EQ(copy(secret->view()), hex(exported, "exported_value"));
  }
  EXPECT_EQ(base_modes, 1u);
}

TEST(HpkeRfc9180, PskAuthAndAuthPskModesMatchAppendixA2) {
  const auto modes = load_rfc9180_vectors();
  ASSERT_EQ(modes.size(), 4u);
  for (const ModeVectors& vectors : modes) {
    if (mode_of(vectors.setup) != internal::Mode::base) check_mode(vectors);
  }
}

TEST(Hpke, SingleShotRoundTripBindsInfoAndAssociatedData) {
  auto recipient = X25519PrivateKey::generate();
  ASSERT_TRUE(recipient.ok());
  const ByteView info = as_bytes("case 42 epoch 3 device 7");
  auto sealed = seal_base(recipient->public_key(), info, as_bytes("aad"), as_bytes("case key"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->encapsulated_key.size(), kEncapsulatedKeySize);
  EXPECT_EQ(sealed->ciphertext.size(), 8 + kTagSize);
  auto opened = open_base(sealed->encapsulated_key, *recipient, info, as_bytes("aad"), sealed->ciphertext);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(copy(opened->view()), copy(as_bytes("case key")));

  EXPECT_EQ(open_base(sealed->encapsulated_key, *recipient, as_bytes("case 42 epoch 4 device 7"),
                      as_bytes("aad"), sealed->ciphertext)
                .error()
                .code,
            "decrypt_failed");
  EXPECT_EQ(open_base(sealed->encapsulated_key, *recipient, info, as_bytes("other"), sealed->ciphertext)
                .error()
                .code,
            "decrypt_failed");
  auto stranger = X25519PrivateKey::generate();
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(
      open_base(sealed->encapsulated_key, *stranger, info, as_bytes("aad"), sealed->ciphertext).error().code,
      "decrypt_failed");
}

TEST(Hpke, LowOrderOrMalformedKeysAreRefused) {
  auto recipient = X25519PrivateKey::generate();
  ASSERT_TRUE(recipient.ok());
  EXPECT_EQ(seal_base(Bytes(32, 0), {}, {}, as_bytes("x")).error().code, "weak_key");
  EXPECT_EQ(seal_base(Bytes(31, 1), {}, {}, as_bytes("x")).error().code, "invalid_key");
  EXPECT_EQ(open_base(Bytes(32, 0), *recipient, {}, {}, Bytes(16, 0)).error().code, "weak_key");
  EXPECT_EQ(open_base(Bytes(33, 1), *recipient, {}, {}, Bytes(16, 0)).error().code, "invalid_key");
}

TEST(Hpke, ExportAgreesBetweenSenderAndRecipient) {
  auto recipient = X25519PrivateKey::generate();
  ASSERT_TRUE(recipient.ok());
  auto sent = send_export_base(recipient->public_key(), as_bytes("info"), as_bytes("context"), 48);
  ASSERT_TRUE(sent.ok());
  auto received =
      receive_export_base(sent->encapsulated_key, *recipient, as_bytes("info"), as_bytes("context"), 48);
  ASSERT_TRUE(received.ok());
  EXPECT_EQ(copy(sent->secret.view()), copy(received->view()));
  EXPECT_EQ(received->size(), 48u);
}

TEST(Hpke, RecipientContextDoesNotAdvanceOnAFailedOpen) {
  auto recipient = X25519PrivateKey::generate();
  ASSERT_TRUE(recipient.ok());
  auto setup = setup_base_sender(recipient->public_key(), {});
  ASSERT_TRUE(setup.ok());
  auto first = setup->context.seal({}, as_bytes("one"));
  ASSERT_TRUE(first.ok());
  auto receiver = setup_base_recipient(setup->encapsulated_key, *recipient, {});
  ASSERT_TRUE(receiver.ok());
  Bytes forged = *first;
  forged[0] ^= 1;
  EXPECT_EQ(receiver->open({}, forged).error().code, "decrypt_failed");
  EXPECT_EQ(receiver->sequence_number(), 0u);
  EXPECT_TRUE(receiver->open({}, *first).ok());
  EXPECT_EQ(receiver->sequence_number(), 1u);
}

TEST(Hpke, DeriveKeyPairRefusesShortInput) {
  EXPECT_EQ(derive_key_pair(Bytes(31, 1)).error().code, "invalid_argument");
}

}  // namespace
}  // namespace casefile::crypto::hpke
