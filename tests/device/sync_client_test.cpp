// The sync client against the real casefiled over real TLS, with real
// SQLCipher replicas: two devices converge, conflicts show and clear on both,
// access removal purges, revocation wipes (and a forged order does not),
// and an interrupted push loses and duplicates nothing.
#include "device/sync_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sync/wipe_order.hpp"
#include "tests/device/device_server_fixture.hpp"

namespace casefile::device::testing {
namespace {

using SyncClientTest = DeviceServerFixture;

const PlainFields kCaseFields = {{"stage", std::string("trial")},
                                 {"province", std::string("north")},
                                 {"channel", std::string("duty_lawyer")},
                                 {"opened_on", std::string("2026-11-02")},
                                 {"summary", std::string("SEALED-MARKER held since Tuesday")}};

SyncReport sync(FieldDevice& device, SyncOptions options = {}) {
  auto client = SyncClient::create(device, std::move(options));
  if (!client.ok()) throw std::runtime_error("SyncClient::create: " + client.error().code);
  auto report = client->sync_once();
  if (!report.ok())
    throw std::runtime_error("sync_once: " + report.error().code + ": " + report.error().message);
  return *report;
}

std::optional<sync::RecordState> stored(FieldDevice& device, const sync::RecordKey& key) {
  return device.store().load_record(key).value();
}

const FieldRead* field(const RecordRead& record, std::string_view name) {
  for (const auto& read : record.fields) {
    if (read.name == name) return &read;
  }
  return nullptr;
}

sync::RecordKey case_record(const sync::CaseId& case_id) {
  return {case_id, "cases", sync::RecordId{case_id.bytes}};
}

TEST_F(SyncClientTest, TwoDevicesWriteOfflineAndConvergeToIdenticalRecords) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  FieldDevice bruno = certified_device("bruno-tablet", "bruno");
  const std::int64_t now = wall_clock_ms();

  // Amina opens a case offline; the first sync registers it and pushes it.
  auto case_id = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(case_id.ok()) << case_id.error().code;
  auto private_case = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(private_case.ok());
  const SyncReport first = sync(amina);
  EXPECT_EQ(first.accepted, 2u);
  EXPECT_EQ(first.refused, 0u);
  ASSERT_TRUE(administration_->add_case_member(*case_id, "bruno").ok());
  sync(bruno);
  ASSERT_TRUE(stored(bruno, case_record(*case_id)).has_value());
  EXPECT_FALSE(stored(bruno, case_record(*private_case)).has_value()) << "bruno sees a case he is not in";

  // Both edit offline: different fields, and a new note on each side.
  ASSERT_TRUE(amina
                  .write(*case_id, "cases", case_record(*case_id).record_id,
                         {{"province", std::string("south")}}, now + 1)
                  .ok());
  ASSERT_TRUE(amina
                  .write(*case_id, "notes", std::nullopt,
                         {{"created_on", std::string("2026-11-27")}, {"body", std::string("amina's note")}},
                         now + 1)
                  .ok());
  ASSERT_TRUE(
      bruno.write(*case_id, "cases", case_record(*case_id).record_id, {{"juvenile", true}}, now + 2).ok());

  sync(amina);
  sync(bruno);
  sync(amina);

  auto amina_records = amina.list_records(*case_id).value();
  auto bruno_records = bruno.list_records(*case_id).value();
  ASSERT_EQ(amina_records, bruno_records);
  ASSERT_EQ(amina_records.size(), 2u);
  for (const auto& key : amina_records) {
    EXPECT_EQ(stored(amina, key), stored(bruno, key)) << key.collection;
  }
  auto merged = amina.read(case_record(*case_id)).value();
  ASSERT_NE(field(merged, "province"), nullptr);
  EXPECT_EQ(std::get<std::string>(field(merged, "province")->winner.value), "south");
  ASSERT_NE(field(merged, "juvenile"), nullptr);
  EXPECT_EQ(std::get<bool>(field(merged, "juvenile")->winner.value), true);
  EXPECT_EQ(amina.status().value().outbox_depth, 0u);
  EXPECT_EQ(bruno.status().value().outbox_depth, 0u);
  EXPECT_TRUE(amina.status().value().last_sync_ms.has_value());
}

TEST_F(SyncClientTest, AUserAddedToACaseAfterTheirDevicePulledReceivesTheCasesEarlierChanges) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  FieldDevice bruno = certified_device("bruno-tablet", "bruno");
  const std::int64_t now = wall_clock_ms();
  auto case_id = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(case_id.ok());
  auto note =
      amina.write(*case_id, "notes", std::nullopt,
                  {{"created_on", std::string("2026-11-27")}, {"body", std::string("before bruno")}}, now);
  ASSERT_TRUE(note.ok());
  sync(amina);
  sync(bruno);  // not a member yet: his cursor moves past the case's two changes
  EXPECT_FALSE(stored(bruno, case_record(*case_id)).has_value());

  ASSERT_TRUE(administration_->add_case_member(*case_id, "bruno").ok());
  const SyncReport caught_up = sync(bruno);
  EXPECT_EQ(caught_up.pulled, 2u);
  EXPECT_TRUE(stored(bruno, case_record(*case_id)).has_value());
  EXPECT_EQ(stored(bruno, *note), stored(amina, *note));

  // Caught up: the next sync does not start over again.
  EXPECT_EQ(sync(bruno).pulled, 0u);
}

TEST_F(SyncClientTest, AConcurrentEditConflictsOnBothAndResolvingOnOneClearsBoth) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  FieldDevice bruno = certified_device("bruno-tablet", "bruno");
  const std::int64_t now = wall_clock_ms();
  auto case_id = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(case_id.ok());
  sync(amina);
  ASSERT_TRUE(administration_->add_case_member(*case_id, "bruno").ok());
  sync(bruno);
  const sync::RecordKey record = case_record(*case_id);

  ASSERT_TRUE(
      amina.write(*case_id, "cases", record.record_id, {{"stage", std::string("appeal")}}, now + 1).ok());
  ASSERT_TRUE(
      bruno.write(*case_id, "cases", record.record_id, {{"stage", std::string("closed")}}, now + 2).ok());
  sync(amina);
  sync(bruno);
  sync(amina);
  for (FieldDevice* device : {&amina, &bruno}) {
    auto read = device->read(record).value();
    ASSERT_NE(field(read, "stage"), nullptr);
    EXPECT_TRUE(field(read, "stage")->in_conflict());
    EXPECT_EQ(field(read, "stage")->siblings.size(), 2u);
    EXPECT_EQ(device->conflicts().value().size(), 1u);
  }

  ASSERT_TRUE(amina.resolve(record, "stage", std::string("appeal"), now + 3).ok());
  sync(amina);
  sync(bruno);
  for (FieldDevice* device : {&amina, &bruno}) {
    auto read = device->read(record).value();
    EXPECT_FALSE(field(read, "stage")->in_conflict());
    EXPECT_EQ(std::get<std::string>(field(read, "stage")->winner.value), "appeal");
    EXPECT_TRUE(device->conflicts().value().empty());
  }
  EXPECT_EQ(stored(amina, record), stored(bruno, record));
}

TEST_F(SyncClientTest, ACaseWhoseMembershipWasRemovedIsPurgedAfterItsChangesArePushed) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  FieldDevice bruno = certified_device("bruno-tablet", "bruno");
  const std::int64_t now = wall_clock_ms();
  auto case_id = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(case_id.ok());
  sync(amina);
  ASSERT_TRUE(administration_->add_case_member(*case_id, "bruno").ok());
  sync(bruno);
  ASSERT_TRUE(
      bruno.write(*case_id, "cases", case_record(*case_id).record_id, {{"juvenile", true}}, now + 1).ok());
  ASSERT_TRUE(administration_->remove_case_member(*case_id, "bruno").ok());

  const SyncReport report = sync(bruno);
  // The edit made after removal was answered (refused) before the purge, so
  // the report tells the user it was not accepted.
  EXPECT_EQ(report.refused, 1u);
  ASSERT_EQ(report.purged_cases.size(), 1u);
  EXPECT_EQ(report.purged_cases[0], *case_id);
  EXPECT_TRUE(bruno.list_records(*case_id).value().empty());
  EXPECT_TRUE(bruno.quarantine().value().empty()) << "nothing of a case the user may not read stays";
  EXPECT_EQ(bruno.status().value().outbox_depth, 0u);
}

TEST_F(SyncClientTest, ARevokedDeviceReceivesTheWipeOrderAndItsFilesAreGone) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  ASSERT_TRUE(amina.create_case(kCaseFields, wall_clock_ms()).ok());
  sync(amina);
  const fs::path directory = amina.directory();
  ASSERT_TRUE(fs::exists(directory / "replica.db"));
  ASSERT_TRUE(
      administration_->revoke_device(amina.profile().device_id, *authority_, "seized at the gate").ok());

  auto client = SyncClient::create(amina);
  ASSERT_TRUE(client.ok());
  auto report = client->sync_once();
  ASSERT_TRUE(report.ok()) << report.error().code << ": " << report.error().message;
  EXPECT_TRUE(report->wiped);
  for (const char* name : {"storage.key", "duress.key", "replica.db"}) {
    EXPECT_FALSE(fs::exists(directory / name)) << name;
  }
  EXPECT_FALSE(FieldDevice::unlock(directory, kDevicePassphrase).ok());
}

TEST_F(SyncClientTest, AForgedWipeOrderIsRefusedAndNothingIsWiped) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  ASSERT_TRUE(amina.create_case(kCaseFields, wall_clock_ms()).ok());
  sync(amina);
  // A compromised server stores an order the authority never signed: the
  // right fingerprint, another key's signature.
  sync::WipeOrder forged{
      sync::kWipeOrderVersion, amina.profile().device_id, wall_clock_ms(), "forged", {}, {}};
  auto impostor = crypto::Ed25519PrivateKey::generate().value();
  forged = sync::sign_wipe_order(forged, impostor).value();
  forged.authority_fingerprint = summary_.authority_fingerprint;
  ASSERT_TRUE(control_
                  ->revoke_device(amina.profile().device_id, sync::encode_wipe_order(forged),
                                  server::AuditEvent{wall_clock_ms(),
                                                     "admin:test",
                                                     "device_revoked",
                                                     "device:" + sync::to_text(amina.profile().device_id),
                                                     {}})
                  .ok());

  auto client = SyncClient::create(amina);
  ASSERT_TRUE(client.ok());
  auto report = client->sync_once();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, "wipe_order_invalid");
  for (const char* name : {"storage.key", "duress.key", "replica.db"}) {
    EXPECT_TRUE(fs::exists(amina.directory() / name)) << name;
  }
  EXPECT_EQ(amina.list_records().value().size(), 1u);
}

// 120 notes and a case with batches of 50: the connection is dropped between
// batches in one sync, and another sync is cancelled after its first batch
// and resumed; the colleague ends with every record once.
TEST_F(SyncClientTest, AnInterruptedPushLosesAndDuplicatesNothing) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  FieldDevice bruno = certified_device("bruno-tablet", "bruno");
  const std::int64_t now = wall_clock_ms();
  auto case_id = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(case_id.ok());
  constexpr int kNotes = 120;
  auto write_notes = [&](int from) {
    for (int n = from; n < from + kNotes / 2; ++n) {
      ASSERT_TRUE(
          amina
              .write(*case_id, "notes", std::nullopt,
                     {{"created_on", std::string("2026-11-27")}, {"body", "note " + std::to_string(n)}},
                     now + n)
              .ok());
    }
  };
  write_notes(0);
  SyncOptions options;
  options.push_batch_size = 25;

  {  // Dropped between batches: reconnects and carries on.
    auto client = SyncClient::create(amina, options);
    ASSERT_TRUE(client.ok());
    HttpsClient& transport = client->transport();
    auto report = client->sync_once([&](const SyncProgress& progress) {
      if (progress.phase == SyncPhase::pushing && progress.done > 0) transport.disconnect();
      return true;
    });
    ASSERT_TRUE(report.ok()) << report.error().code;
    EXPECT_EQ(report->accepted, 1u + kNotes / 2);
    EXPECT_EQ(report->duplicate, 0u);
    EXPECT_GE(transport.connections_opened(), 3u);
  }

  ASSERT_TRUE(administration_->add_case_member(*case_id, "bruno").ok());
  write_notes(kNotes / 2);
  {  // Cancelled after its first batch: the rest stays in the outbox.
    auto client = SyncClient::create(amina, options);
    ASSERT_TRUE(client.ok());
    auto report = client->sync_once([](const SyncProgress& progress) {
      return !(progress.phase == SyncPhase::pushing && progress.done > 0);
    });
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().code, "sync_cancelled");
    EXPECT_EQ(amina.status().value().outbox_depth, static_cast<std::uint64_t>(kNotes / 2 - 25));
  }
  const SyncReport resumed = sync(amina, options);
  EXPECT_EQ(resumed.accepted, static_cast<std::uint64_t>(kNotes / 2 - 25));
  EXPECT_EQ(resumed.duplicate, 0u);
  EXPECT_EQ(amina.status().value().outbox_depth, 0u);

  SyncOptions small_pages;
  small_pages.pull_page_size = 40;
  const SyncReport pulled = sync(bruno, small_pages);
  EXPECT_EQ(pulled.pulled, 1u + kNotes);
  auto amina_records = amina.list_records(*case_id).value();
  EXPECT_EQ(amina_records.size(), 1u + kNotes);
  EXPECT_EQ(bruno.list_records(*case_id).value(), amina_records);
}

// With the server gone, each request is tried max_attempts times, waiting a
// jittered delay under the doubling ceiling (capped) between tries; the
// outbox keeps every change for the next sync.
// With overlap (the default) the next page is already asked for while a page
// is committed: a device revoked meanwhile gets 403 device_revoked on that
// request sent ahead, which is sent again through the ordinary path and
// obeyed. Without overlap the same revocation is met by the next request.
TEST_F(SyncClientTest, ADeviceRevokedWhileItPullsObeysTheWipeOrderWithOrWithoutOverlap) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  const std::int64_t now = wall_clock_ms();
  auto case_id = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(case_id.ok());
  for (int n = 0; n < 60; ++n) {
    ASSERT_TRUE(amina
                    .write(*case_id, "notes", std::nullopt,
                           {{"created_on", std::string("2026-11-27")}, {"body", "note " + std::to_string(n)}},
                           now + n)
                    .ok());
  }
  sync(amina);
  for (const bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "overlap" : "one request at a time");
    const std::string user = overlap ? "bruno" : "carla";
    if (!overlap) {
      ASSERT_TRUE(administration_->add_user(user, server::Role::lawyer).ok());
    }
    FieldDevice colleague = certified_device(user + "-tablet", user);
    ASSERT_TRUE(administration_->add_case_member(*case_id, user).ok());
    const fs::path directory = colleague.directory();
    SyncOptions options;
    options.pull_page_size = 20;
    options.overlap = overlap;
    auto client = SyncClient::create(colleague, options);
    ASSERT_TRUE(client.ok());
    bool revoked = false;
    auto report = client->sync_once([&](const SyncProgress& progress) {
      if (progress.phase == SyncPhase::pulling && progress.done > 0 && !revoked) {
        revoked = administration_->revoke_device(colleague.profile().device_id, *authority_, "seized").ok();
      }
      return true;
    });
    ASSERT_TRUE(revoked);
    ASSERT_TRUE(report.ok()) << report.error().code << ": " << report.error().message;
    EXPECT_TRUE(report->wiped);
    EXPECT_GT(report->pulled, 0u);
    EXPECT_LT(report->pulled, 61u);  // stopped before the last page
    EXPECT_FALSE(fs::exists(directory / "replica.db"));
  }
}

TEST_F(SyncClientTest, AnUnreachableServerIsRetriedWithCappedBackoffAndNothingIsLost) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  ASSERT_TRUE(amina.create_case(kCaseFields, wall_clock_ms()).ok());
  server_.reset();  // SIGKILL: nothing listens on the port any more
  SyncOptions options;
  options.retry = RetryPolicy{std::chrono::milliseconds(100), std::chrono::milliseconds(250), 4};
  std::vector<std::chrono::milliseconds> waits;
  options.sleep = [&waits](std::chrono::milliseconds delay) { waits.push_back(delay); };
  auto client = SyncClient::create(amina, options);
  ASSERT_TRUE(client.ok());
  auto report = client->sync_once();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, "connect_failed");
  ASSERT_EQ(waits.size(), 3u);
  EXPECT_LE(waits[0], std::chrono::milliseconds(100));
  EXPECT_LE(waits[1], std::chrono::milliseconds(200));
  EXPECT_LE(waits[2], std::chrono::milliseconds(250));
  EXPECT_EQ(amina.status().value().outbox_depth, 1u);
  EXPECT_FALSE(amina.status().value().last_sync_ms.has_value());
}

// A colleague's change reaches a watching device through the long-poll.
TEST_F(SyncClientTest, AWatchingDeviceReceivesAColleaguesChange) {
  FieldDevice amina = certified_device("amina-tablet", "amina");
  FieldDevice bruno = certified_device("bruno-tablet", "bruno");
  const std::int64_t now = wall_clock_ms();
  auto case_id = amina.create_case(kCaseFields, now);
  ASSERT_TRUE(case_id.ok());
  sync(amina);
  ASSERT_TRUE(administration_->add_case_member(*case_id, "bruno").ok());
  sync(bruno);
  const sync::RecordKey record = case_record(*case_id);

  std::atomic<bool> watching{false};
  Result<SyncReport> watched = make_error("not_run", "");
  std::thread watcher([&] {
    auto client = SyncClient::create(bruno);
    if (!client.ok()) return;
    const auto give_up = std::chrono::steady_clock::now() + server::testing::kTestDeadline;
    watched = client->watch([&] {
      watching = true;
      auto read = bruno.read(record);
      const FieldRead* province = read.ok() ? field(*read, "province") : nullptr;
      const bool arrived = province != nullptr && province->winner.value == PlainValue(std::string("east"));
      return arrived || std::chrono::steady_clock::now() > give_up;
    });
  });
  while (!watching) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(
      amina.write(*case_id, "cases", record.record_id, {{"province", std::string("east")}}, now + 1).ok());
  sync(amina);
  watcher.join();
  ASSERT_TRUE(watched.ok()) << watched.error().code;
  EXPECT_GE(watched->pulled, 1u);
  EXPECT_EQ(std::get<std::string>(field(bruno.read(record).value(), "province")->winner.value), "east");
}

}  // namespace
}  // namespace casefile::device::testing
