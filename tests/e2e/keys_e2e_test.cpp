// Case keys end to end (issue #7) with real casefiled, casefile-admin and
// casefile-device processes: flow 2, a revoked device's copied private key
// opens neither the epoch that excluded it nor a value written after it;
// flow 3, a lawyer who leaves loses every device and every case's new epoch;
// flow 8, every device of a case gone, the recovery key reads the case and
// re-wraps it to a new device, which then reads the old values.
// (Flows 1 and 7 and member-add are in rotation_e2e_test.cpp.)
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "crypto/envelope.hpp"
#include "device/field_device.hpp"
#include "server/instance.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/keyring_manifest.hpp"
#include "sync/sealed_field_context.hpp"
#include "tests/e2e/e2e_fixture.hpp"

namespace casefile::e2e {
namespace {

class CaseKeysTest : public E2eTest {
 protected:
  // Every stored epoch of the case in the instance's keys.db.
  std::vector<server::KeyEpoch> epochs(const std::string& case_text) {
    const server::InstanceLayout layout(server().instance());
    const auto key = server::read_database_key_file(layout.database_key()).value();
    auto keys =
        server::SqlcipherKeyWrapStore::open(server::key_wrap_database_path(layout.database()), key).value();
    return keys->epochs(*sync::parse_id<sync::CaseId>(case_text)).value();
  }
  sync::KeyringManifest head(const std::string& case_text) {
    return sync::decode_manifest(epochs(case_text).back().manifest).value();
  }

  // The sealed `body` envelopes of the case's notes in casefile.db, by record.
  std::vector<std::pair<sync::RecordKey, crypto::Bytes>> note_bodies(const std::string& case_text) {
    const server::InstanceLayout layout(server().instance());
    const auto key = server::read_database_key_file(layout.database_key()).value();
    auto store = server::SqlcipherServerStore::open(layout.database(), key).value();
    const auto case_id = *sync::parse_id<sync::CaseId>(case_text);
    std::vector<std::pair<sync::RecordKey, crypto::Bytes>> bodies;
    const auto slice = store->read_log(0, {case_id}, 10'000).value();
    for (const auto& entry : slice.entries) {
      for (const auto& operation : entry.change.change.operations) {
        if (operation.field != "body") continue;
        if (const auto* sealed = std::get_if<sync::SealedValue>(&operation.value)) {
          bodies.emplace_back(entry.change.change.record, sealed->envelope);
        }
      }
    }
    return bodies;
  }

  // The device's X25519 wrapping private key, copied out of its key store with
  // its passphrase: what a thief with the tablet and the passphrase holds.
  static crypto::X25519PrivateKey copy_wrapping_key(E2eDevice& device) {
    auto unlocked = device::FieldDevice::unlock(device.directory(), "passphrase of " + device.name()).value();
    return crypto::X25519PrivateKey::from_bytes(unlocked.wrapping_key().private_bytes().view()).value();
  }

  // Every case key `wrapping` opens from the case's stored wraps, under any recipient id.
  std::map<std::uint32_t, crypto::SecretBytes> keys_opened_with(const std::string& case_text,
                                                                const crypto::X25519PrivateKey& wrapping) {
    const auto case_id = *sync::parse_id<sync::CaseId>(case_text);
    std::map<std::uint32_t, crypto::SecretBytes> opened;
    for (const auto& epoch : epochs(case_text)) {
      for (const auto& wrap : epoch.wraps) {
        auto key = sync::unwrap_case_key(wrap.wrap, case_id, epoch.epoch, wrap.recipient, wrapping);
        if (key.ok()) opened.emplace(epoch.epoch, std::move(*key));
      }
    }
    return opened;
  }

  std::string new_case(E2eDevice& owner) {
    std::vector<std::string> arguments = {"case", "new"};
    for (const auto& field : case_fields()) arguments.push_back(field);
    return std::string(owner.ok(arguments).at("case_id").as_string());
  }
};

TEST_F(CaseKeysTest, ARevokedDevicesCopiedKeyOpensNothingWrittenAfterTheRotation) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string first = shared_case(alice, {"bob"});
  const std::string second = shared_case(alice, {"bob"});
  alice.ok({"note", "add", "--case", first, "--set", "body=before the revocation"});
  alice.ok({"sync"});
  bob.ok({"sync"});
  alice.ok({"sync"});
  bob.ok({"sync"});
  const crypto::X25519PrivateKey stolen = copy_wrapping_key(bob);
  const auto before = keys_opened_with(first, stolen);
  ASSERT_FALSE(before.empty());  // bob's device held the case's keys

  const auto revoked = server().admin_ok({"revoke", "--device", bob.id(), "--reason", "seized at the gate"});
  EXPECT_EQ(revoked.at("keys").at("rotated"), 2) << json::serialize(revoked);  // every case it held
  for (const std::string& case_text : {first, second}) {
    const auto manifest = head(case_text);
    EXPECT_EQ(manifest.members, std::vector<sync::DeviceId>{*sync::parse_id<sync::DeviceId>(alice.id())});
    EXPECT_FALSE(keys_opened_with(case_text, stolen).contains(manifest.epoch)) << case_text;
  }

  alice.ok({"sync"});
  alice.ok({"note", "add", "--case", first, "--set", "body=after the revocation"});
  alice.ok({"sync"});
  const auto rotated_epoch = head(first).epoch;
  const auto stolen_keys = keys_opened_with(first, stolen);
  int written_after = 0;
  for (const auto& [record, envelope] : note_bodies(first)) {
    const auto epoch = crypto::read_envelope_epoch(envelope).value();
    if (epoch != rotated_epoch) continue;
    ++written_after;
    const sync::SealedFieldContext context(record);
    for (const auto& [held_epoch, key] : stolen_keys) {
      EXPECT_FALSE(crypto::open_field(context.for_field("body"), epoch, key.view(), envelope).ok())
          << held_epoch;
    }
  }
  EXPECT_EQ(written_after, 1);
  EXPECT_NE(bob.run({"sync"}).exit_code, 0);  // and the server refuses the device
}

TEST_F(CaseKeysTest, ALawyerWhoLeavesLosesEveryDeviceAndEveryNewEpoch) {
  auto devices = enrol_devices({{"alice"}, {"bob"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  const std::string case_id = shared_case(alice, {"bob"});
  alice.ok({"sync"});
  ASSERT_EQ(head(case_id).members.size(), 3u);

  const auto left = server().admin_ok({"user", "leave", "--user", "bob"});
  EXPECT_EQ(left.at("revoked_devices").as_array().size(), 2u) << json::serialize(left);
  EXPECT_EQ(head(case_id).members, std::vector<sync::DeviceId>{*sync::parse_id<sync::DeviceId>(alice.id())});
  for (const std::size_t i : {1u, 2u}) EXPECT_NE(devices[i]->run({"sync"}).exit_code, 0);
  const auto again = server().admin_ok({"user", "leave", "--user", "bob"});
  EXPECT_EQ(again.at("keys").at("rotated"), 0);

  alice.ok({"sync"});
  alice.ok({"note", "add", "--case", case_id, "--set", "body=after bob left"});
  alice.ok({"sync"});
  const auto shown = alice.ok({"show", "--case", case_id, "--collection", "notes"});
  ASSERT_EQ(shown.at("records").as_array().size(), 1u);
  EXPECT_EQ(shown.at("records").as_array()[0].at("fields").at("body").at("epoch"), head(case_id).epoch);
}

TEST_F(CaseKeysTest, TheRecoveryKeyReadsACaseWhoseDevicesAreGoneAndGivesItToANewDevice) {
  auto devices = enrol_devices({{"alice"}});
  E2eDevice& lost = *devices[0];
  const std::string case_id = new_case(lost);
  lost.ok({"note", "add", "--case", case_id, "--set", "body=what the client said"});
  lost.ok({"sync"});
  server().admin_ok({"revoke", "--device", lost.id(), "--reason", "lost with every copy"});
  EXPECT_TRUE(head(case_id).members.empty());

  const auto read = server().admin_ok({"cases", "read", "--case", case_id});
  bool found = false;
  for (const auto& record : read.at("records").as_array()) {
    const auto& fields = record.at("fields").as_object();
    if (fields.contains("body")) found |= fields.at("body") == "what the client said";
  }
  EXPECT_TRUE(found) << json::serialize(read);

  auto replacements = enrol_devices({{"alice"}});
  E2eDevice& replacement = *replacements[0];
  const auto recovered =
      server().admin_ok({"cases", "recover", "--case", case_id, "--device", replacement.id()});
  EXPECT_FALSE(recovered.at("wrapped_epochs").as_array().empty()) << json::serialize(recovered);
  replacement.ok({"sync"});
  const auto shown = replacement.ok({"show", "--case", case_id, "--collection", "notes"});
  ASSERT_EQ(shown.at("records").as_array().size(), 1u);
  EXPECT_EQ(shown.at("records").as_array()[0].at("fields").at("body").at("value"), "what the client said");
}

}  // namespace
}  // namespace casefile::e2e
