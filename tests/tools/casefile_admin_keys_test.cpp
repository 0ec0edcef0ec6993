// casefile-admin's case-key commands as a child process on a real instance
// (control.db, keys.db, casefile.db): rotation makes epoch + 1 for exactly the
// desired devices, each wrap opening with that device's key only; revoke and
// user leave rotate every case of the user; reconcile is a no-op when nothing
// changed; the recovery key reads a case and re-wraps it to a new device; a
// tampered keys.db is refused, not extended (issue 7).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "schema/database.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "sync/batch.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/device_authentication.hpp"
#include "sync/case_keyring.hpp"
#include "sync/push.hpp"
#include "sync/sealed_field_context.hpp"
#include "tests/support/scratch_directory.hpp"
#include "tests/support/shell_command.hpp"

namespace casefile::server {
namespace {

namespace json = boost::json;

constexpr const char* kPassphrase = "correct horse battery staple";
constexpr std::int64_t kNow = 1'767'225'600'000;  // 2026-01-01

// A random RFC 4122 version-4 id.
template <typename Id>
Id random_uuid() {
  Id id;
  EXPECT_TRUE(crypto::fill_random(id.bytes).ok());
  id.bytes[6] = static_cast<std::uint8_t>((id.bytes[6] & 0x0f) | 0x40);
  id.bytes[8] = static_cast<std::uint8_t>((id.bytes[8] & 0x3f) | 0x80);
  return id;
}

struct Device {
  sync::DeviceId id;
  std::string user;
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::generate().value();
  crypto::X25519PrivateKey wrapping = crypto::X25519PrivateKey::generate().value();
};

class CasefileAdminKeysTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One instance for the suite: scrypt is slow under ASan. Each test uses its own users and cases.
    directory_ = new test_support::ScratchDirectory();
    std::ofstream(passphrase_file()) << kPassphrase << "\n";
    std::ofstream(recovery_passphrase_file()) << "a separate recovery passphrase\n";
    InstanceRequest request;
    request.root = instance();
    request.admin_passphrase = kPassphrase;
    ASSERT_TRUE(create_instance(request).ok());
    const InstanceLayout layout(instance());
    auto seed =
        crypto::load_key_file(layout.authority_key(), kPassphrase, crypto::kKeyFilePurposeOrgAuthority);
    authority_ =
        new crypto::Ed25519PrivateKey(crypto::Ed25519PrivateKey::from_seed(seed.value().view()).value());
    auto recovery = crypto::load_key_file(layout.recovery_key(), kPassphrase, kKeyFilePurposeOrgRecovery);
    recovery_ =
        new crypto::X25519PrivateKey(crypto::X25519PrivateKey::from_bytes(recovery.value().view()).value());
  }
  static void TearDownTestSuite() {
    delete authority_;
    delete recovery_;
    delete directory_;
  }
  static std::filesystem::path instance() { return directory_->path() / "instance"; }
  static std::filesystem::path passphrase_file() { return directory_->path() / "passphrase"; }
  static std::filesystem::path recovery_passphrase_file() {
    return directory_->path() / "recovery-passphrase";
  }

  // casefile-admin with the instance, the admin passphrase and --json.
  static json::object admin(const std::string& arguments, int expected_exit = 0) {
    const auto run = test_support::run_shell_command(
        std::string(CASEFILE_ADMIN_BINARY) + " --instance '" + instance().string() + "' --passphrase-file '" +
        passphrase_file().string() + "' --json " + arguments + " 2>/dev/null");
    EXPECT_EQ(run.exit_code, expected_exit) << arguments << ": " << run.out;
    auto parsed = json::parse(run.out.empty() ? "{}" : run.out);
    return parsed.is_object() ? parsed.as_object() : json::object{};
  }

  static std::unique_ptr<SqlCipherControlStore> control() {
    return SqlCipherControlStore::open_in_instance(instance()).value();
  }
  static crypto::SecretBytes database_key() {
    return read_database_key_file(InstanceLayout(instance()).database_key()).value();
  }
  static std::unique_ptr<SqlcipherKeyWrapStore> keys() {
    return SqlcipherKeyWrapStore::open(key_wrap_database_path(InstanceLayout(instance()).database()),
                                       database_key())
        .value();
  }

  // A device of `user`, enrolled and certified in-process (no reconcile).
  static Device certified_device(const std::string& user) {
    auto store = control();
    AccessAdministration administration(*store, "admin:test");
    Device device{random_uuid<sync::DeviceId>(), user};
    const auto code = administration.create_enrolment_code(user, std::chrono::minutes(15)).value();
    const auto request = sync::make_enrolment_request(*sync::enrolment_code_from_text(code.text), device.id,
                                                      device.signing, device.wrapping.public_key())
                             .value();
    DeviceRecord record;
    record.id = device.id;
    record.signing_public_key = request.signing_public_key;
    record.wrapping_public_key = request.wrapping_public_key;
    EXPECT_TRUE(store
                    ->enrol_device(crypto::sha256(request.code), kNow, record,
                                   AuditEvent{kNow, "device:x", "device_enrolled", "device:x", {}})
                    .ok());
    EXPECT_TRUE(administration.certify_device(device.id, *authority_).ok());
    return device;
  }

  static void add_user(const std::string& name) {
    auto store = control();
    ASSERT_TRUE(AccessAdministration(*store, "admin:test").add_user(name, Role::lawyer).ok());
  }

  // What the creating device does: the case in control.db, and its genesis
  // epoch 1 (members = itself, signed by it) in keys.db.
  static sync::CaseId case_with_genesis(const Device& creator, crypto::SecretBytes case_key = random_key()) {
    const auto case_id = random_uuid<sync::CaseId>();
    EXPECT_TRUE(control()
                    ->create_case(case_id, creator.user, AuditEvent{kNow, "device:x", "case_created", "", {}})
                    .ok());
    auto plan =
        sync::plan_first_epoch(case_id, {creator.id}, recovery_->public_key(), 1, std::move(case_key), kNow)
            .value();
    plan.manifest.authority_fingerprint = crypto::sha256(authority_->public_key());
    plan.manifest = sync::sign_genesis_manifest(plan.manifest, creator.signing).value();
    const std::vector<sync::RecipientKey> recipients = {{creator.id, creator.wrapping.public_key()},
                                                        {sync::kRecoveryRecipient, recovery_->public_key()}};
    KeyEpoch epoch{case_id, 1, sync::encode_manifest(plan.manifest), {}, creator.id, kNow};
    const auto wraps = sync::wrap_rotation(plan, recipients).value();
    for (const auto& wrap : wraps) {
      epoch.wraps.push_back(KeyWrap{wrap.recipient, wrap.wrap});
    }
    std::sort(epoch.wraps.begin(), epoch.wraps.end(),
              [](const KeyWrap& a, const KeyWrap& b) { return a.recipient < b.recipient; });
    EXPECT_EQ(keys()->put_epoch(epoch).value(), KeyEpochStored::created);
    return case_id;
  }

  static crypto::SecretBytes random_key() { return crypto::random_secret(32).value(); }

  static std::vector<KeyEpoch> epochs(const sync::CaseId& case_id) { return keys()->epochs(case_id).value(); }
  static sync::KeyringManifest head(const sync::CaseId& case_id) {
    return sync::decode_manifest(epochs(case_id).back().manifest).value();
  }

  // `device`'s key of the case's newest epoch, opened from its own wrap.
  static Result<crypto::SecretBytes> head_key_for(const sync::CaseId& case_id, const Device& device) {
    const KeyEpoch newest = epochs(case_id).back();
    for (const KeyWrap& wrap : newest.wraps) {
      if (wrap.recipient == device.id) {
        return sync::unwrap_case_key(wrap.wrap, case_id, newest.epoch, device.id, device.wrapping);
      }
    }
    return make_error("case_key_unavailable", "no wrap");
  }

  static std::vector<sync::DeviceId> sorted(std::vector<sync::DeviceId> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  static test_support::ScratchDirectory* directory_;
  static crypto::Ed25519PrivateKey* authority_;
  static crypto::X25519PrivateKey* recovery_;
};

test_support::ScratchDirectory* CasefileAdminKeysTest::directory_ = nullptr;
crypto::Ed25519PrivateKey* CasefileAdminKeysTest::authority_ = nullptr;
crypto::X25519PrivateKey* CasefileAdminKeysTest::recovery_ = nullptr;

TEST_F(CasefileAdminKeysTest, InitWroteTheRecoveryKeyStatement) {
  const auto statement = read_recovery_key_statement(instance() / "org", authority_->public_key()).value();
  ASSERT_TRUE(statement.has_value());
  EXPECT_EQ(statement->public_key, recovery_->public_key());
}

TEST_F(CasefileAdminKeysTest, RotationMakesTheNextEpochForExactlyTheDesiredDevices) {
  add_user("ana");
  const Device first = certified_device("ana");
  const sync::CaseId case_id = case_with_genesis(first);
  const Device second = certified_device("ana");  // certified in-process: no reconcile yet
  const std::string option = " --case " + sync::to_text(case_id);

  auto status = admin("keys status" + option);
  const auto& item = status.at("cases").as_array().at(0).as_object();
  EXPECT_EQ(item.at("head_epoch"), 1);
  EXPECT_EQ(item.at("needs_reconcile"), true);
  EXPECT_EQ(item.at("desired_members").as_array().size(), 2u);

  const auto rotated = admin("keys rotate" + option);
  EXPECT_EQ(rotated.at("summary").at("rotated"), 1);
  ASSERT_EQ(epochs(case_id).size(), 2u);
  const sync::KeyringManifest manifest = head(case_id);
  EXPECT_EQ(manifest.epoch, 2u);
  EXPECT_EQ(manifest.members, sorted({first.id, second.id}));
  EXPECT_TRUE(sync::verify_manifest(manifest, authority_->public_key()).ok());  // authority-signed
  // One wrap per member plus the recovery key, each opening to the committed key for its device only.
  const KeyEpoch newest = epochs(case_id).back();
  ASSERT_EQ(newest.wraps.size(), 3u);
  EXPECT_EQ(newest.uploaded_by, sync::kRecoveryRecipient);
  for (const Device* device : {&first, &second}) {
    auto key = head_key_for(case_id, *device);
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(sync::case_key_commitment(*key, case_id, 2), manifest.case_key_commitment);
  }
  for (const KeyWrap& wrap : newest.wraps) {
    if (wrap.recipient == first.id) continue;
    EXPECT_FALSE(sync::unwrap_case_key(wrap.wrap, case_id, 2, first.id, first.wrapping).ok());
  }

  // Nothing changed since: reconcile is a no-op, and so is status.
  const auto reconciled = admin("keys reconcile" + option);
  EXPECT_EQ(reconciled.at("summary").at("rotated"), 0);
  EXPECT_EQ(reconciled.at("summary").at("unchanged"), 1);
  EXPECT_EQ(epochs(case_id).size(), 2u);
  // A forced rotation run again with the --since it printed skips the case it already rotated.
  const auto again =
      admin("keys rotate" + option + " --since " + std::to_string(rotated.at("since").as_int64()));
  EXPECT_EQ(again.at("summary").at("rotated"), 0);
  EXPECT_EQ(epochs(case_id).size(), 2u);
}

TEST_F(CasefileAdminKeysTest, RevokeRotatesEveryCaseOfTheUserAwayFromTheRevokedDevice) {
  add_user("ben");
  const Device kept = certified_device("ben");
  const Device lost = certified_device("ben");
  const sync::CaseId first_case = case_with_genesis(kept);
  const sync::CaseId second_case = case_with_genesis(lost);
  admin("keys reconcile --case " + sync::to_text(first_case));
  admin("keys reconcile --case " + sync::to_text(second_case));
  ASSERT_EQ(head(first_case).members, sorted({kept.id, lost.id}));
  ASSERT_TRUE(head_key_for(second_case, lost).ok());

  const auto revoked = admin("revoke --device " + sync::to_text(lost.id) + " --reason seized");
  EXPECT_EQ(revoked.at("state"), "revoked");
  EXPECT_EQ(revoked.at("keys").at("rotated"), 2);
  for (const sync::CaseId& case_id : {first_case, second_case}) {
    const sync::KeyringManifest manifest = head(case_id);
    EXPECT_EQ(manifest.epoch, 3u);
    EXPECT_EQ(manifest.members, std::vector<sync::DeviceId>{kept.id});
    EXPECT_TRUE(head_key_for(case_id, kept).ok());
    // The revoked device's private key opens no wrap of the new epoch, under any recipient id.
    const KeyEpoch newest = epochs(case_id).back();
    for (const KeyWrap& wrap : newest.wraps) {
      EXPECT_FALSE(sync::unwrap_case_key(wrap.wrap, case_id, 3, lost.id, lost.wrapping).ok());
      EXPECT_FALSE(sync::unwrap_case_key(wrap.wrap, case_id, 3, wrap.recipient, lost.wrapping).ok());
    }
  }
}

TEST_F(CasefileAdminKeysTest, UserLeaveRevokesEveryDeviceAndRotatesEveryCaseOnce) {
  add_user("cleo");
  add_user("dan");
  const Device cleo_tablet = certified_device("cleo");
  const Device cleo_phone = certified_device("cleo");
  const Device dan_tablet = certified_device("dan");
  const sync::CaseId case_id = case_with_genesis(cleo_tablet);
  ASSERT_TRUE(AccessAdministration(*control(), "admin:test").add_case_member(case_id, "dan").ok());
  admin("keys reconcile --case " + sync::to_text(case_id));
  ASSERT_EQ(head(case_id).members.size(), 3u);

  const auto left = admin("user leave --user cleo");
  EXPECT_EQ(left.at("revoked_devices").as_array().size(), 2u);
  EXPECT_EQ(left.at("keys").at("rotated"), 1);
  EXPECT_EQ(head(case_id).members, std::vector<sync::DeviceId>{dan_tablet.id});
  EXPECT_TRUE(control()->find_user("cleo").value()->disabled);
  for (const Device* device : {&cleo_tablet, &cleo_phone}) {
    EXPECT_EQ(control()->find_device(device->id).value()->state, DeviceState::revoked);
    EXPECT_FALSE(head_key_for(case_id, *device).ok());
  }
  // Idempotent: nothing left to do.
  const auto again = admin("user leave --user cleo");
  EXPECT_TRUE(again.at("revoked_devices").as_array().empty());
  EXPECT_EQ(again.at("keys").at("rotated"), 0);
  EXPECT_EQ(epochs(case_id).size(), 3u);
}

TEST_F(CasefileAdminKeysTest, TheRecoveryKeyReadsACaseAndRewrapsItToANewDevice) {
  add_user("eve");
  const Device lost = certified_device("eve");
  const crypto::SecretBytes case_key = random_key();
  const sync::CaseId case_id = case_with_genesis(lost, crypto::SecretBytes(case_key.view()));
  // The lost device's one record, pushed to casefile.db: a sealed summary under epoch 1.
  {
    auto store = SqlcipherServerStore::open(InstanceLayout(instance()).database(), database_key()).value();
    const sync::RecordKey key{case_id, "cases", random_uuid<sync::RecordId>()};
    const auto envelope =
        crypto::seal_field(sync::SealedFieldContext(key).for_field("summary"), 1, case_key.view(),
                           crypto::as_bytes("\"met the client at the gate\""))
            .value();
    sync::Change change{
        sync::ChangeId{lost.id, 1},
        key,
        sync::Hlc::from_parts(kNow, 0),
        {sync::Operation{sync::OperationKind::set_field, "summary", sync::SealedValue{envelope}, {}},
         sync::Operation{sync::OperationKind::set_field, "stage", std::string("trial"), {}}}};
    sync::canonicalize_change(change);
    const auto batch =
        sync::seal_batch(random_uuid<sync::BatchId>(), lost.signing, lost.id, {change}).value();
    sync::PushContext context;
    context.device = lost.id;
    context.device_public_key = lost.signing.public_key();
    context.writable_cases = {case_id};
    context.server_now_millis = static_cast<std::uint64_t>(kNow);
    const auto pushed = sync::handle_push(*store, context, batch).value();
    ASSERT_EQ(pushed.verdicts.at(0).kind, sync::VerdictKind::accepted)
        << pushed.verdicts.at(0).reason.message;
  }
  // Every device of the case is gone.
  admin("revoke --device " + sync::to_text(lost.id) + " --reason lost");
  EXPECT_TRUE(head(case_id).members.empty());

  // The recovery key, exported under its own passphrase, reads the case.
  const std::filesystem::path exported = directory_->path() / "recovery-eve.key";
  const std::string recovery_options = " --recovery-key '" + exported.string() +
                                       "' --recovery-passphrase-file '" +
                                       recovery_passphrase_file().string() + "'";
  admin("recovery export --to '" + exported.string() + "' --recovery-passphrase-file '" +
        recovery_passphrase_file().string() + "'");
  admin("recovery export --to '" + exported.string() + "' --recovery-passphrase-file '" +
            recovery_passphrase_file().string() + "'",
        1);  // never overwritten
  const auto read = admin("cases read --case " + sync::to_text(case_id) + recovery_options);
  ASSERT_EQ(read.at("records").as_array().size(), 1u);
  const auto& fields = read.at("records").as_array()[0].at("fields").as_object();
  EXPECT_EQ(fields.at("summary"), "met the client at the gate");
  EXPECT_EQ(fields.at("stage"), "trial");

  // A new device of the member receives every epoch, and a head that names it.
  const Device replacement = certified_device("eve");
  const auto recovered = admin("cases recover --case " + sync::to_text(case_id) + " --device " +
                               sync::to_text(replacement.id) + recovery_options);
  EXPECT_EQ(recovered.at("wrapped_epochs").as_array().size(), 2u);
  EXPECT_EQ(head(case_id).members, std::vector<sync::DeviceId>{replacement.id});
  for (const KeyEpoch& epoch : epochs(case_id)) {
    const auto wrap = std::find_if(epoch.wraps.begin(), epoch.wraps.end(),
                                   [&](const KeyWrap& w) { return w.recipient == replacement.id; });
    ASSERT_NE(wrap, epoch.wraps.end()) << "epoch " << epoch.epoch;
    const auto key =
        sync::unwrap_case_key(wrap->wrap, case_id, epoch.epoch, replacement.id, replacement.wrapping);
    ASSERT_TRUE(key.ok());
    if (epoch.epoch == 1) {
      EXPECT_EQ(crypto::to_hex(key->view()), crypto::to_hex(case_key.view()));
    }
  }
  // A device of someone else is refused.
  add_user("finn");
  const Device stranger = certified_device("finn");
  const auto refused = admin("cases recover --case " + sync::to_text(case_id) + " --device " +
                                 sync::to_text(stranger.id) + recovery_options,
                             1);
  EXPECT_EQ(refused.at("error"), "recipient_not_member");
}

TEST_F(CasefileAdminKeysTest, ATamperedKeyringIsRefusedNotExtended) {
  add_user("gia");
  const Device device = certified_device("gia");
  const sync::CaseId case_id = case_with_genesis(device);
  certified_device("gia");
  {
    // Someone with the database key slips a member into the stored genesis.
    auto database =
        schema::Database::open(key_wrap_database_path(InstanceLayout(instance()).database()), database_key())
            .value();
    sync::KeyringManifest forged = head(case_id);
    forged.members = sorted({device.id, random_uuid<sync::DeviceId>()});
    auto statement = database.prepare("UPDATE key_epochs SET manifest = ? WHERE case_id = ?").value();
    statement.bind_blob(1, sync::encode_manifest(forged)).bind_blob(2, crypto::ByteView(case_id.bytes));
    ASSERT_TRUE(statement.run().ok());
  }
  const auto refused = admin("keys rotate --case " + sync::to_text(case_id), 1);
  EXPECT_EQ(refused.at("error"), "keyring_signature_invalid");
  const auto reconcile = admin("keys reconcile --case " + sync::to_text(case_id), 1);
  EXPECT_EQ(reconcile.at("error"), "keyring_signature_invalid");
  EXPECT_EQ(epochs(case_id).size(), 1u);
}

}  // namespace
}  // namespace casefile::server
