// Devices heal a server restored from an old backup (docs/device-sync.md,
// "Healing"), against the real casefiled with real replicas: the restore is
// casefiled killed and its casefile.db put back as it was at the backup
// (with a renewed instance epoch, as casefile-admin restore does, or without
// one, so that only the log behind the cursor tells).
#include <gtest/gtest.h>

#include "device/sync_client.hpp"
#include "server/store/instance_epoch.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "tests/device/device_server_fixture.hpp"
#include "tests/support/server_change_log.hpp"

namespace casefile::device::testing {
namespace {

namespace fs = std::filesystem;

const PlainFields kHealedCaseFields = {{"stage", std::string("trial")},
                                 {"province", std::string("north")},
                                 {"channel", std::string("duty_lawyer")},
                                 {"opened_on", std::string("2026-11-02")},
                                 {"summary", std::string("held since Tuesday")}};

class ServerHealTest : public DeviceServerFixture {
 protected:
  fs::path instance() const { return directory_.path() / "instance"; }

  Result<SyncReport> try_sync(FieldDevice& device, SyncOptions options = {},
                              const SyncProgressCallback& progress = {}) {
    auto client = SyncClient::create(device, std::move(options));
    if (!client.ok()) return std::move(client).error();
    return client->sync_once(progress);
  }
  SyncReport sync(FieldDevice& device, SyncOptions options = {}) {
    auto report = try_sync(device, std::move(options));
    if (!report.ok())
      throw std::runtime_error("sync_once: " + report.error().code + ": " + report.error().message);
    return *report;
  }

  void write_notes(FieldDevice& device, const sync::CaseId& case_id, int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(device
                      .write(case_id, "notes", std::nullopt,
                             {{"created_on", std::string("2026-11-27")}, {"body", std::string("a note")}},
                             wall_clock_ms())
                      .ok());
    }
  }

  void restart_server() {
    server_ = std::make_unique<CasefiledProcess>(server::InstanceLayout(instance()).config(),
                                                 directory_.path() / "casefiled.log", summary_.tls_spki_pin,
                                                 std::vector<std::string>{}, port_);
  }
  // casefiled stopped, casefile.db copied (with its WAL), casefiled started.
  void back_up() {
    port_ = server_->port();
    server_.reset();
    fs::create_directories(backup_);
    for (const char* suffix : {"", "-wal"}) {
      const fs::path file = instance() / (std::string("casefile.db") + suffix);
      if (fs::exists(file)) fs::copy_file(file, backup_ / file.filename());
    }
    restart_server();
  }
  // casefiled stopped, casefile.db put back as backed up (the epoch renewed
  // when `renew_epoch`), casefiled started on the same port.
  void restore(bool renew_epoch) {
    server_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      fs::remove(instance() / (std::string("casefile.db") + suffix));
    for (const auto& entry : fs::directory_iterator(backup_)) {
      fs::copy_file(entry.path(), instance() / entry.path().filename());
    }
    if (renew_epoch) {
      auto key = server::read_database_key_file(instance() / "database.key");
      ASSERT_TRUE(key.ok());
      auto database = schema::Database::open(instance() / "casefile.db", *key);
      ASSERT_TRUE(database.ok()) << database.error().message;
      ASSERT_TRUE(server::renew_instance_epoch(*database).ok());
    }
    restart_server();
  }

  // A case of amina's that bruno is a member of, pulled by both.
  sync::CaseId shared_case(FieldDevice& amina, FieldDevice& bruno) {
    auto case_id = amina.create_case(kHealedCaseFields, wall_clock_ms());
    EXPECT_TRUE(case_id.ok());
    sync(amina);
    EXPECT_TRUE(administration_->add_case_member(*case_id, "bruno").ok());
    sync(bruno);
    return *case_id;
  }

  fs::path backup_ = directory_.path() / "backup";
  unsigned short port_ = 0;
};

TEST_F(ServerHealTest, ADeviceRestoresItsOwnAndAnAbsentAuthorsChangesWithTheirOriginalSignatures) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  FieldDevice bruno = certified_device("bruno-tablet", "bruno");
  const sync::CaseId case_id = shared_case(amina, bruno);
  write_notes(amina, case_id, 3);
  sync(amina);
  back_up();
  const auto at_backup = test_support::server_change_log(instance());

  // After the backup: amina writes 4 notes that only bruno pulls (amina then
  // stays away), and bruno makes 2 edits of his own (clear fields: the admin
  // gave him no case key here).
  write_notes(amina, case_id, 4);
  sync(amina);
  EXPECT_EQ(sync(bruno).pulled, 3u + 4);
  const sync::RecordId case_record_id{case_id.bytes};
  ASSERT_TRUE(bruno.write(case_id, "cases", case_record_id, {{"juvenile", true}}, wall_clock_ms()).ok());
  ASSERT_TRUE(
      bruno.write(case_id, "cases", case_record_id, {{"province", std::string("south")}}, wall_clock_ms())
          .ok());
  sync(bruno);
  const auto served = test_support::server_change_log(instance());
  ASSERT_EQ(served.size(), at_backup.size() + 6);

  restore(true);
  ASSERT_EQ(test_support::server_change_log(instance()), at_backup);
  const SyncReport healed = sync(bruno);
  EXPECT_TRUE(healed.healed);
  EXPECT_EQ(healed.relayed_accepted, 6u);
  EXPECT_EQ(healed.relayed_refused, 0u);
  // Every change exactly once, each under the signature it was first accepted with.
  EXPECT_EQ(test_support::server_change_log(instance()), served);

  // Healed once: the next sync relays nothing.
  const SyncReport again = sync(bruno);
  EXPECT_FALSE(again.healed);
  EXPECT_EQ(again.relayed, 0u);

  // A device enrolled now receives everything; amina, back, heals too, and
  // the server answers every change she relays as one it holds.
  FieldDevice phone = certified_device("bruno-phone", "bruno");
  sync(phone);
  const SyncReport amina_back = sync(amina);
  EXPECT_TRUE(amina_back.healed);
  EXPECT_GT(amina_back.relayed, 0u);
  EXPECT_EQ(amina_back.relayed_accepted, 0u);
  EXPECT_EQ(test_support::server_change_log(instance()), served);
  const auto records = bruno.list_records(case_id).value();
  EXPECT_EQ(records.size(), 1u + 3 + 4);
  EXPECT_EQ(phone.list_records(case_id).value(), records);
  EXPECT_EQ(amina.list_records(case_id).value(), records);
  for (const auto& key : records) {
    EXPECT_EQ(phone.store().load_record(key).value(), bruno.store().load_record(key).value());
    EXPECT_EQ(amina.store().load_record(key).value(), bruno.store().load_record(key).value());
  }
}

TEST_F(ServerHealTest, AHealCutShortResumesWhereItStoppedWhenOnlyTheLogBehindTheCursorTells) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  auto case_id = amina.create_case(kHealedCaseFields, wall_clock_ms());
  ASSERT_TRUE(case_id.ok());
  sync(amina);
  back_up();
  const auto at_backup = test_support::server_change_log(instance());
  write_notes(amina, *case_id, 6);
  SyncOptions small_batches;
  small_batches.push_batch_size = 2;
  sync(amina, small_batches);
  const auto served = test_support::server_change_log(instance());
  ASSERT_EQ(served.size(), at_backup.size() + 6);

  restore(false);  // the same epoch: only the cursor ahead of the log tells
  // Cancelled once two notes are relayed (the case, held, went first).
  const SyncProgressCallback stop_midway = [](const SyncProgress& step) {
    return !(step.phase == SyncPhase::healing && step.done >= 3);
  };
  auto cut = try_sync(amina, small_batches, stop_midway);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, "sync_cancelled");
  EXPECT_EQ(test_support::server_change_log(instance()).size(), at_backup.size() + 2);

  const SyncReport resumed = sync(amina, small_batches);
  EXPECT_TRUE(resumed.healed);
  EXPECT_EQ(resumed.relayed, 4u) << "the heal resumed where it stopped";
  EXPECT_EQ(resumed.relayed_accepted, 4u);
  EXPECT_EQ(test_support::server_change_log(instance()), served);
  EXPECT_EQ(amina.status().value().outbox_depth, 0u);
  EXPECT_TRUE(amina.quarantine().value().empty());
}

}  // namespace
}  // namespace casefile::device::testing
