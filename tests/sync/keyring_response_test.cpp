// GET /v1/keys/{case} bodies: what the server sends decodes into entries a
// device opens its keyring from; every malformed shape has its code.
#include "sync/keyring_response.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sync/case_key_wrap.hpp"
#include "sync/device_authentication.hpp"
#include "tests/sync/keyring_test_support.hpp"

namespace casefile::sync {
namespace {

using namespace keyring_test;

class KeyringResponseTest : public ::testing::Test {
 protected:
  crypto::Ed25519PrivateKey authority = authority_key();
  crypto::X25519PrivateKey recovery = x25519_key(0x70);
  crypto::X25519PrivateKey member_key = x25519_key(0x40);
  SignedChain chain = signed_chain(authority, recovery.public_key(), {{device(0xd0)}, {device(0xe0)}});

  // The body the server builds (server/sync_api/key_wrap_endpoints.cpp): epoch 1
  // with device 0xd0's wrap and its recipients list, epoch 2 without either.
  boost::json::object body() const {
    const RecipientKey key{device(0xd0), member_key.public_key()};
    const auto wrap =
        wrap_rotation(chain.plans[0],
                      std::vector<RecipientKey>{key, {kRecoveryRecipient, recovery.public_key()}})
            .value()[0]
            .wrap;
    boost::json::array epochs;
    epochs.push_back(boost::json::object{
        {"epoch", 1},
        {"manifest", bytes_to_wire_text(encode_manifest(chain.manifests[0]))},
        {"wrap", bytes_to_wire_text(wrap)},
        {"recipients", boost::json::array{to_text(kRecoveryRecipient), to_text(device(0xd0))}}});
    epochs.push_back(
        boost::json::object{{"epoch", 2},
                            {"manifest", bytes_to_wire_text(encode_manifest(chain.manifests[1]))},
                            {"wrap", nullptr}});
    return boost::json::object{{"case", to_text(example_case())}, {"epochs", std::move(epochs)}};
  }

  static std::string code_of(const boost::json::value& value) {
    auto decoded = decode_keyring_response(boost::json::serialize(value), example_case());
    return decoded.ok() ? "ok" : decoded.error().code;
  }
};

TEST_F(KeyringResponseTest, TheServersBodyDecodesIntoAnOpenableKeyring) {
  const auto entries = decode_keyring_response(boost::json::serialize(body()), example_case()).value();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].epoch, 1u);
  EXPECT_TRUE(entries[0].wrap.has_value());
  EXPECT_FALSE(entries[1].wrap.has_value());
  const CaseKeyring keyring = CaseKeyring::open(example_case(), entries, authority.public_key(),
                                                certified_signers(), device(0xd0), member_key)
                                  .value();
  EXPECT_EQ(keyring.held_epochs(), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(keyring.head(), chain.manifests[1]);
}

TEST_F(KeyringResponseTest, AnotherCaseIsRefused) {
  auto other = body();
  other["case"] = to_text(CaseId{filled<16>(0x10)});
  EXPECT_EQ(code_of(other), "keyring_case_mismatch");
}

TEST_F(KeyringResponseTest, EveryMalformedShapeHasItsCode) {
  auto entry = [&](auto&& change) {
    auto changed = body();
    change(changed["epochs"].as_array()[0].as_object());
    return boost::json::value(changed);
  };
  const std::vector<std::pair<std::string, boost::json::value>> cases = {
      {"json_missing_member", entry([](boost::json::object& e) { e.erase("wrap"); })},
      {"json_unknown_member", entry([](boost::json::object& e) { e["extra"] = 1; })},
      {"json_invalid_value", entry([](boost::json::object& e) { e["epoch"] = 0; })},
      {"json_invalid_value", entry([](boost::json::object& e) { e["epoch"] = 2147483648LL; })},
      {"json_invalid_value", entry([](boost::json::object& e) { e["manifest"] = ""; })},
      {"json_invalid_value", entry([](boost::json::object& e) { e["wrap"] = "AA=="; })},
      {"json_invalid_value",
       entry([](boost::json::object& e) { e["wrap"] = bytes_to_wire_text(crypto::Bytes(1025, 1)); })},
      {"json_wrong_type", entry([](boost::json::object& e) { e["wrap"] = 5; })},
      {"json_wrong_type",
       [&] {
         auto changed = body();
         changed["epochs"] = "none";
         return boost::json::value(changed);
       }()},
      {"json_invalid_value",
       [&] {
         auto changed = body();
         changed["case"] = "not-a-case";
         return boost::json::value(changed);
       }()},
  };
  for (const auto& [code, value] : cases) EXPECT_EQ(code_of(value), code) << boost::json::serialize(value);
  EXPECT_EQ(decode_keyring_response("{\"case\":", example_case()).error().code, "json_syntax");
}

}  // namespace
}  // namespace casefile::sync
