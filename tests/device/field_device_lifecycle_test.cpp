// FieldDevice's life on disk: create, unlock, wrong passphrases and lock-out,
// the duress passphrase, passphrase change, storage key rotation (and every
// state a crash can leave it in), and wipe.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "device/device_vault.hpp"
#include "device/field_device.hpp"
#include "schema/database.hpp"
#include "tests/device/field_device_test_support.hpp"

namespace casefile::device {
namespace {

using testing::case_fields;
using testing::create_device;
using testing::files_containing;
using testing::files_in;
using testing::find_field;
using testing::kNow;
using testing::read_file;
using testing::ScratchDirectory;
using testing::test_options;
using testing::unlock_device;

constexpr std::string_view kPassphrase = "correct horse battery staple";
constexpr std::string_view kDuress = "open the empty one";
const std::string kMarker = "MARKER-Ahmadi-detained-at-station-7";

crypto::SecretBytes storage_key_of(const std::filesystem::path& directory, std::string_view passphrase,
                                   const char* file = "storage.key") {
  auto key = crypto::load_key_file(directory / file, passphrase, crypto::kKeyFilePurposeDeviceStorage);
  if (!key.ok()) throw std::runtime_error("load storage key: " + key.error().code);
  return std::move(key).value();
}

// Creates a device holding one case whose sealed summary is kMarker; returns the case.
sync::CaseId device_with_marker(const std::filesystem::path& directory, const CreateOptions& options) {
  FieldDevice device = create_device(directory, kPassphrase, options);
  auto case_id = device.create_case(case_fields(kMarker), kNow);
  if (!case_id.ok()) throw std::runtime_error("create_case: " + case_id.error().code);
  return *case_id;
}

void expect_marker_readable(FieldDevice& device, const sync::CaseId& case_id) {
  auto read = device.read(sync::RecordKey{case_id, "cases", sync::RecordId{case_id.bytes}});
  ASSERT_TRUE(read.ok()) << read.error().code;
  const FieldRead* summary = find_field(*read, "summary");
  ASSERT_NE(summary, nullptr);
  EXPECT_EQ(summary->winner.value, PlainValue(kMarker));
  EXPECT_TRUE(summary->winner.unreadable.empty());
}

std::set<std::string> file_names(const std::filesystem::path& directory) {
  std::set<std::string> names;
  for (const auto& path : files_in(directory)) names.insert(path.filename().string());
  return names;
}

TEST(FieldDeviceLifecycle, UnlockOfAnEmptyDirectoryIsNotInitialised) {
  ScratchDirectory scratch;
  auto device = FieldDevice::unlock(scratch.path(), kPassphrase);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code, "not_initialised");
}

TEST(FieldDeviceLifecycle, CreateRefusesADirectoryThatHoldsADevice) {
  ScratchDirectory scratch;
  { FieldDevice device = create_device(scratch.path(), kPassphrase); }
  auto again = FieldDevice::create(scratch.path(), kPassphrase, test_options());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "device_exists");
}

// A create that crashed before writing storage.key left no device: creating
// again replaces whatever it left.
TEST(FieldDeviceLifecycle, CreateOverAnUnfinishedCreateStartsAfresh) {
  ScratchDirectory scratch;
  for (const char* name : {"unlock.state", "duress.key", "replica.db", "replica.db-wal"}) {
    std::ofstream(scratch.file(name), std::ios::binary) << "left by a crashed create";
  }
  { FieldDevice device = create_device(scratch.path(), kPassphrase); }
  FieldDevice device = unlock_device(scratch.path(), kPassphrase);
  auto records = device.list_records();
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
}

TEST(FieldDeviceLifecycle, AMissingReplicaIsReportedNotRecreated) {
  ScratchDirectory scratch;
  { FieldDevice device = create_device(scratch.path(), kPassphrase); }
  std::filesystem::remove(scratch.file("replica.db"));
  auto device = FieldDevice::unlock(scratch.path(), kPassphrase);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code, "replica_missing");
  EXPECT_FALSE(std::filesystem::exists(scratch.file("replica.db")));
}

TEST(FieldDeviceLifecycle, CreatedDeviceUnlocksWithItsIdentityAndData) {
  ScratchDirectory scratch;
  sync::DeviceId id;
  sync::CaseId case_id;
  {
    FieldDevice device = create_device(scratch.path(), kPassphrase);
    id = device.profile().device_id;
    auto created = device.create_case(case_fields(kMarker), kNow);
    ASSERT_TRUE(created.ok()) << created.error().code << ": " << created.error().message;
    case_id = *created;
  }
  EXPECT_EQ(file_names(scratch.path()),
            (std::set<std::string>{"duress.key", "replica.db", "storage.key", "unlock.state"}));
  FieldDevice device = unlock_device(scratch.path(), kPassphrase);
  EXPECT_EQ(device.profile().device_id, id);
  EXPECT_EQ(device.profile().state, EnrolmentState::not_enrolled);
  expect_marker_readable(device, case_id);
}

TEST(FieldDeviceLifecycle, WrongPassphraseSaysHowManyAttemptsAreLeftAndSuccessResetsTheCount) {
  ScratchDirectory scratch;
  { FieldDevice device = create_device(scratch.path(), kPassphrase, test_options("", 3)); }
  auto first = FieldDevice::unlock(scratch.path(), "wrong");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "wrong_passphrase");
  EXPECT_NE(first.error().message.find("2 attempts left"), std::string::npos) << first.error().message;
  auto second = FieldDevice::unlock(scratch.path(), "also wrong");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("1 attempt left"), std::string::npos) << second.error().message;

  { FieldDevice device = unlock_device(scratch.path(), kPassphrase); }
  auto after_success = FieldDevice::unlock(scratch.path(), "wrong");
  ASSERT_FALSE(after_success.ok());
  EXPECT_NE(after_success.error().message.find("2 attempts left"), std::string::npos)
      << after_success.error().message;
}

TEST(FieldDeviceLifecycle, WithoutALockOutWrongPassphrasesNeverDestroyAnything) {
  ScratchDirectory scratch;
  { FieldDevice device = create_device(scratch.path(), kPassphrase); }
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto device = FieldDevice::unlock(scratch.path(), "wrong");
    ASSERT_FALSE(device.ok());
    EXPECT_EQ(device.error().code, "wrong_passphrase");
  }
  EXPECT_TRUE(std::filesystem::exists(scratch.file("storage.key")));
  EXPECT_NO_THROW(unlock_device(scratch.path(), kPassphrase));
}

TEST(FieldDeviceLifecycle, LockOutAfterNFailuresDestroysTheStorageKeyForGood) {
  ScratchDirectory scratch;
  device_with_marker(scratch.path(), test_options("", 2));
  auto first = FieldDevice::unlock(scratch.path(), "wrong");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "wrong_passphrase");
  EXPECT_TRUE(std::filesystem::exists(scratch.file("storage.key")));

  auto second = FieldDevice::unlock(scratch.path(), "wrong again");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "locked_out");
  EXPECT_FALSE(std::filesystem::exists(scratch.file("storage.key")));

  auto right = FieldDevice::unlock(scratch.path(), kPassphrase);
  ASSERT_FALSE(right.ok());
  EXPECT_EQ(right.error().code, "locked_out");
}

TEST(FieldDeviceLifecycle, DuressPassphraseOpensAnEmptyNewDeviceAndTheOldBytesAreGone) {
  ScratchDirectory scratch;
  sync::DeviceId old_id;
  {
    FieldDevice device = create_device(scratch.path(), kPassphrase, test_options(std::string(kDuress), 5));
    old_id = device.profile().device_id;
    ASSERT_TRUE(device.create_case(case_fields(kMarker), kNow).ok());
  }
  // A stretch of the old replica's ciphertext: it must not survive anywhere.
  const std::string old_replica = read_file(scratch.file("replica.db"));
  ASSERT_GT(old_replica.size(), 8192u);
  const std::string old_page = old_replica.substr(4096, 256);
  const crypto::SecretBytes old_storage_key = storage_key_of(scratch.path(), kPassphrase);

  sync::DeviceId new_id;
  {
    FieldDevice device = unlock_device(scratch.path(), kDuress);
    new_id = device.profile().device_id;
    EXPECT_NE(new_id, old_id);
    EXPECT_EQ(device.profile().state, EnrolmentState::not_enrolled);
    auto records = device.list_records();
    ASSERT_TRUE(records.ok());
    EXPECT_TRUE(records->empty());
    EXPECT_TRUE(device.cases_with_keys().empty());
    auto status = device.status();
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->outbox_depth, 0u);
  }
  EXPECT_EQ(file_names(scratch.path()),
            (std::set<std::string>{"duress.key", "replica.db", "storage.key", "unlock.state"}));
  EXPECT_TRUE(files_containing(scratch.path(), kMarker).empty());
  EXPECT_TRUE(files_containing(scratch.path(), old_page).empty());
  auto old_key_opens = schema::Database::open(scratch.file("replica.db"), old_storage_key);
  ASSERT_FALSE(old_key_opens.ok());
  EXPECT_EQ(old_key_opens.error().code, "wrong_key");

  // The duress passphrase is now the passphrase of the new device; the old
  // one opens nothing, and the new device keeps the old lock-out setting.
  auto old_passphrase = FieldDevice::unlock(scratch.path(), kPassphrase);
  ASSERT_FALSE(old_passphrase.ok());
  EXPECT_EQ(old_passphrase.error().code, "wrong_passphrase");
  EXPECT_NE(old_passphrase.error().message.find("attempts left"), std::string::npos);
  FieldDevice again = unlock_device(scratch.path(), kDuress);
  EXPECT_EQ(again.profile().device_id, new_id);
}

TEST(FieldDeviceLifecycle, PassphraseChangeKeepsDataAndOnlyTheNewPassphraseUnlocks) {
  ScratchDirectory scratch;
  const sync::CaseId case_id = device_with_marker(scratch.path(), test_options(std::string(kDuress)));
  {
    FieldDevice device = unlock_device(scratch.path(), kPassphrase);
    auto wrong_old = device.change_passphrase("not it", "new passphrase");
    ASSERT_FALSE(wrong_old.ok());
    EXPECT_EQ(wrong_old.error().code, "wrong_passphrase");
    auto to_duress = device.change_passphrase(kPassphrase, kDuress);
    ASSERT_FALSE(to_duress.ok());
    EXPECT_EQ(to_duress.error().code, "passphrase_is_duress");
    CASEFILE_ASSERT_OK(device.change_passphrase(kPassphrase, "new passphrase"));
  }
  auto old = FieldDevice::unlock(scratch.path(), kPassphrase);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, "wrong_passphrase");
  FieldDevice device = unlock_device(scratch.path(), "new passphrase");
  expect_marker_readable(device, case_id);
}

TEST(FieldDeviceLifecycle, StorageKeyRotationKeepsDataAndRetiresTheOldKey) {
  ScratchDirectory scratch;
  const sync::CaseId case_id = device_with_marker(scratch.path(), test_options());
  const crypto::SecretBytes old_key = storage_key_of(scratch.path(), kPassphrase);
  {
    FieldDevice device = unlock_device(scratch.path(), kPassphrase);
    auto wrong = device.rotate_storage_key("wrong");
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, "wrong_passphrase");
    CASEFILE_ASSERT_OK(device.rotate_storage_key(kPassphrase));
    expect_marker_readable(device, case_id);  // the open replica carries on
  }
  EXPECT_FALSE(std::filesystem::exists(scratch.file("storage.key.next")));
  const crypto::SecretBytes new_key = storage_key_of(scratch.path(), kPassphrase);
  EXPECT_NE(crypto::to_hex(new_key.view()), crypto::to_hex(old_key.view()));
  auto with_old = schema::Database::open(scratch.file("replica.db"), old_key);
  ASSERT_FALSE(with_old.ok());
  EXPECT_EQ(with_old.error().code, "wrong_key");
  FieldDevice device = unlock_device(scratch.path(), kPassphrase);
  expect_marker_readable(device, case_id);
}

// Crash window 1: storage.key.next was written, the replica was not re-keyed.
TEST(FieldDeviceLifecycle, RotationInterruptedBeforeTheRekeyRollsBack) {
  ScratchDirectory scratch;
  const sync::CaseId case_id = device_with_marker(scratch.path(), test_options());
  const crypto::SecretBytes old_key = storage_key_of(scratch.path(), kPassphrase);
  const crypto::SecretBytes next_key = test_support::random_database_key();
  CASEFILE_ASSERT_OK(crypto::save_key_file(scratch.file("storage.key.next"), next_key.view(), kPassphrase,
                                           crypto::kKeyFilePurposeDeviceStorage, testing::kTestScrypt));

  FieldDevice device = unlock_device(scratch.path(), kPassphrase);
  expect_marker_readable(device, case_id);
  EXPECT_FALSE(std::filesystem::exists(scratch.file("storage.key.next")));
  EXPECT_EQ(crypto::to_hex(storage_key_of(scratch.path(), kPassphrase).view()),
            crypto::to_hex(old_key.view()));
}

// Crash window 2: the replica was re-keyed, storage.key.next not yet renamed.
TEST(FieldDeviceLifecycle, RotationInterruptedAfterTheRekeyIsFinished) {
  ScratchDirectory scratch;
  const sync::CaseId case_id = device_with_marker(scratch.path(), test_options());
  const crypto::SecretBytes old_key = storage_key_of(scratch.path(), kPassphrase);
  const crypto::SecretBytes next_key = test_support::random_database_key();
  CASEFILE_ASSERT_OK(crypto::save_key_file(scratch.file("storage.key.next"), next_key.view(), kPassphrase,
                                           crypto::kKeyFilePurposeDeviceStorage, testing::kTestScrypt));
  {
    auto database = schema::Database::open(scratch.file("replica.db"), old_key);
    CASEFILE_ASSERT_OK(database);
    CASEFILE_ASSERT_OK(database->rekey(next_key));
  }

  {
    FieldDevice device = unlock_device(scratch.path(), kPassphrase);
    expect_marker_readable(device, case_id);
  }
  EXPECT_FALSE(std::filesystem::exists(scratch.file("storage.key.next")));
  EXPECT_EQ(crypto::to_hex(storage_key_of(scratch.path(), kPassphrase).view()),
            crypto::to_hex(next_key.view()));
  auto with_old = schema::Database::open(scratch.file("replica.db"), old_key);
  ASSERT_FALSE(with_old.ok());
  EXPECT_EQ(with_old.error().code, "wrong_key");
}

// A storage.key.next whose key opens nothing, beside a replica neither key
// opens, is refused rather than guessed at.
TEST(FieldDeviceLifecycle, RotationStateWhereNoKeyOpensTheReplicaIsRefused) {
  ScratchDirectory scratch;
  device_with_marker(scratch.path(), test_options());
  const crypto::SecretBytes old_key = storage_key_of(scratch.path(), kPassphrase);
  const crypto::SecretBytes next_key = test_support::random_database_key();
  CASEFILE_ASSERT_OK(crypto::save_key_file(scratch.file("storage.key.next"), next_key.view(), kPassphrase,
                                           crypto::kKeyFilePurposeDeviceStorage, testing::kTestScrypt));
  {
    auto database = schema::Database::open(scratch.file("replica.db"), old_key);
    CASEFILE_ASSERT_OK(database);
    CASEFILE_ASSERT_OK(database->rekey(test_support::random_database_key()));
  }
  auto device = FieldDevice::unlock(scratch.path(), kPassphrase);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code, "replica_unreadable");
  EXPECT_TRUE(std::filesystem::exists(scratch.file("storage.key.next")));  // nothing thrown away
}

TEST(FieldDeviceLifecycle, WipeLeavesNoFileBehind) {
  ScratchDirectory scratch;
  const std::filesystem::path directory = scratch.file("device");
  {
    FieldDevice device = create_device(directory, kPassphrase, test_options(std::string(kDuress), 3));
    ASSERT_TRUE(device.create_case(case_fields(kMarker), kNow).ok());
    CASEFILE_ASSERT_OK(device.wipe());
    auto after = device.list_records();
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.error().code, "device_wiped");
  }
  EXPECT_TRUE(files_in(directory).empty());
  auto unlock = FieldDevice::unlock(directory, kPassphrase);
  ASSERT_FALSE(unlock.ok());
  EXPECT_EQ(unlock.error().code, "not_initialised");
}

// destroy_file overwrites the bytes themselves before unlinking: a second
// hard link to the same inode, which the unlink leaves in place, shows them.
TEST(DestroyFile, OverwritesTheContentsBeforeUnlinking) {
  ScratchDirectory scratch;
  const std::string secret(10000, 'S');
  {
    std::ofstream out(scratch.file("secret"), std::ios::binary);
    out << secret;
  }
  std::filesystem::create_hard_link(scratch.file("secret"), scratch.file("witness"));
  CASEFILE_ASSERT_OK(destroy_file(scratch.file("secret")));
  EXPECT_FALSE(std::filesystem::exists(scratch.file("secret")));
  const std::string left = read_file(scratch.file("witness"));
  EXPECT_EQ(left.size(), secret.size());
  EXPECT_EQ(left.find("SSSSSSSS"), std::string::npos);
  CASEFILE_ASSERT_OK(destroy_file(scratch.file("never-existed")));
}

TEST(UnlockState, EncodesAndDecodesStrictly) {
  const UnlockState state{3, 10};
  const std::string text = encode_unlock_state(state);
  EXPECT_EQ(text, "casefile unlock state v1\nfailures 3\nlimit 10\n");
  auto decoded = decode_unlock_state(crypto::as_bytes(text));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, state);
  for (const char* bad : {"", "casefile unlock state v1\nfailures 3\nlimit 10",
                          "casefile unlock state v1\nfailures 03\nlimit 10\n",
                          "casefile unlock state v1\nfailures -3\nlimit 10\n",
                          "casefile unlock state v1\nfailures 3\nlimit 4294967296\n",
                          "casefile unlock state v1\nfailures  3\nlimit 10\n",
                          "casefile unlock state v2\nfailures 3\nlimit 10\n",
                          "casefile unlock state v1\nlimit 10\nfailures 3\n",
                          "casefile unlock state v1\nfailures 3\nlimit 10\n\n"}) {
    auto refused = decode_unlock_state(crypto::as_bytes(bad));
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, "corrupt_unlock_state");
  }
}

TEST(UnlockState, ACorruptStateFileRefusesUnlock) {
  ScratchDirectory scratch;
  { FieldDevice device = create_device(scratch.path(), kPassphrase, test_options("", 3)); }
  CASEFILE_ASSERT_OK(crypto::write_key_file(scratch.file("unlock.state"), crypto::as_bytes("failures 0\n")));
  auto device = FieldDevice::unlock(scratch.path(), kPassphrase);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code, "corrupt_unlock_state");
}

}  // namespace
}  // namespace casefile::device
