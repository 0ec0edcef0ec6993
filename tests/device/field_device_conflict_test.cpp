// Two FieldDevices edit the same sealed field offline and exchange their
// changes through the sync logic in-process (sync::handle_push and
// sync::handle_pull over sync::MemoryServerStore, with the server's schema
// validator), each trusting the other through an authority-signed
// certificate. Both then show the conflict with every sibling's author and
// time; a resolution on one clears it on both.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "crypto/hash.hpp"
#include "device/device_profile_store.hpp"
#include "device/field_device.hpp"
#include "sync/memory_store.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/schema_change_validator.hpp"
#include "tests/device/field_device_test_support.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::device {
namespace {

using testing::case_fields;
using testing::create_device;
using testing::find_field;
using testing::interview_fields;
using testing::kNow;
using testing::ScratchDirectory;

class TwoDevices : public ::testing::Test {
 protected:
  void SetUp() override {
    auto authority = crypto::Ed25519PrivateKey::generate();
    ASSERT_TRUE(authority.ok());
    authority_.emplace(std::move(*authority));
    certify(alice_, "alice");
    certify(bruno_, "bruno");
    CASEFILE_ASSERT_OK(alice_.cache_certificate(*bruno_.profile().certificate));
    CASEFILE_ASSERT_OK(bruno_.cache_certificate(*alice_.profile().certificate));
  }

  void certify(FieldDevice& device, const std::string& user) {
    CASEFILE_ASSERT_OK(device.begin_enrolment(ServerEndpoint{"https://localhost:1", "localhost", 1, {}},
                                              crypto::sha256(authority_->public_key())));
    sync::DeviceCertificate certificate;
    certificate.device = device.profile().device_id;
    certificate.user = user;
    certificate.role = "lawyer";
    certificate.signing_public_key = device.signing_key().public_key();
    certificate.wrapping_public_key = device.wrapping_key().public_key();
    certificate.not_before_ms = 0;
    certificate.not_after_ms = kNow * 2;
    auto signed_certificate = sync::sign_certificate(certificate, *authority_);
    ASSERT_TRUE(signed_certificate.ok());
    CASEFILE_ASSERT_OK(device.record_certificate(*signed_certificate, authority_->public_key(), kNow));
  }

  // Pushes every outbox change of `device`, as the server would take it.
  void push(FieldDevice& device) {
    auto batch =
        device.replica().prepare_push(sync::testing::batch_id(++batches_), device.signing_key(), 0, 500);
    ASSERT_TRUE(batch.ok()) << batch.error().code;
    if (!batch->has_value()) return;
    sync::SchemaChangeValidator validator(
        [this](const sync::RecordKey& key) -> Result<std::optional<sync::RecordState>> {
          auto stored = server_.load_record(key);
          if (!stored.ok()) return std::move(stored).error();
          if (!stored->has_value()) return std::optional<sync::RecordState>();
          return std::optional<sync::RecordState>((*stored)->state);
        });
    sync::PushContext context;
    context.device = device.profile().device_id;
    context.device_public_key = device.signing_key().public_key();
    context.writable_cases = {case_id_};
    context.server_now_millis = static_cast<std::uint64_t>(kNow);
    context.validator = &validator;
    auto response = sync::handle_push(server_, context, **batch);
    ASSERT_TRUE(response.ok()) << response.error().code;
    for (const sync::Verdict& verdict : response->verdicts) {
      EXPECT_NE(verdict.kind, sync::VerdictKind::refused)
          << verdict.reason.code << ": " << verdict.reason.message;
    }
    CASEFILE_ASSERT_OK(device.replica().apply_push_response(**batch, *response, kNow));
  }

  void pull(FieldDevice& device) {
    for (;;) {
      auto page = sync::handle_pull(server_, {case_id_}, device.replica().pull_cursor(), 100, kNow);
      ASSERT_TRUE(page.ok()) << page.error().code;
      CASEFILE_ASSERT_OK(device.replica().apply_pull_page(
          *page, [&device](const sync::DeviceId& author) { return device.author_key(author); }, kNow));
      if (!page->has_more) return;
    }
  }

  // Gives `to` the case key `from` made (key distribution is the keys issue's).
  void share_case_key(FieldDevice& from, FieldDevice& to) {
    DeviceProfileStore keys(from.store().database());
    auto key = keys.case_key(case_id_, 1);
    ASSERT_TRUE(key.ok() && key->has_value());
    CASEFILE_ASSERT_OK(to.store_case_key(case_id_, 1, **key));
  }

  ScratchDirectory scratch_;
  FieldDevice alice_ = create_device(scratch_.file("alice"), "alice's passphrase");
  FieldDevice bruno_ = create_device(scratch_.file("bruno"), "bruno's passphrase");
  std::optional<crypto::Ed25519PrivateKey> authority_;
  sync::MemoryServerStore server_;
  sync::CaseId case_id_;
  std::uint64_t batches_ = 0;
};

TEST_F(TwoDevices, ConcurrentSealedEditsShowBothSiblingsOnBothDevicesAndOneResolutionClearsThem) {
  auto created = alice_.create_case(case_fields("case summary"), kNow);
  ASSERT_TRUE(created.ok()) << created.error().message;
  case_id_ = *created;
  auto interview =
      alice_.write(case_id_, "interviews", std::nullopt, interview_fields(case_id_, "original"), kNow);
  ASSERT_TRUE(interview.ok()) << interview.error().code << ": " << interview.error().message;
  ASSERT_NO_FATAL_FAILURE(push(alice_));
  ASSERT_NO_FATAL_FAILURE(pull(bruno_));

  // Without the case key, bruno holds the record but cannot read its sealed values.
  auto unreadable = bruno_.read(*interview);
  ASSERT_TRUE(unreadable.ok()) << unreadable.error().code;
  EXPECT_EQ(find_field(*unreadable, "notes")->winner.unreadable, "case_key_missing");
  EXPECT_EQ(find_field(*unreadable, "place_type")->winner.value, PlainValue(std::string("detention_centre")));
  ASSERT_NO_FATAL_FAILURE(share_case_key(alice_, bruno_));
  auto readable = bruno_.read(*interview);
  ASSERT_TRUE(readable.ok());
  EXPECT_EQ(find_field(*readable, "notes")->winner.value, PlainValue(std::string("original")));

  // Both edit the notes offline.
  ASSERT_TRUE(alice_
                  .write(case_id_, "interviews", interview->record_id,
                         {{"notes", std::string("alice's version")}}, kNow + 1000)
                  .ok());
  ASSERT_TRUE(bruno_
                  .write(case_id_, "interviews", interview->record_id,
                         {{"notes", std::string("bruno's version")}}, kNow + 2000)
                  .ok());
  ASSERT_NO_FATAL_FAILURE(push(alice_));
  ASSERT_NO_FATAL_FAILURE(push(bruno_));
  ASSERT_NO_FATAL_FAILURE(pull(alice_));
  ASSERT_NO_FATAL_FAILURE(pull(bruno_));

  for (FieldDevice* device : {&alice_, &bruno_}) {
    auto read = device->read(*interview);
    ASSERT_TRUE(read.ok());
    const FieldRead* notes = find_field(*read, "notes");
    ASSERT_NE(notes, nullptr);
    ASSERT_TRUE(notes->in_conflict());
    ASSERT_EQ(notes->siblings.size(), 2u);
    std::set<std::pair<std::string, std::uint64_t>> seen;
    for (const ValueRead& sibling : notes->siblings) {
      const std::string author = sibling.author == alice_.profile().device_id   ? "alice"
                                 : sibling.author == bruno_.profile().device_id ? "bruno"
                                                                                : "?";
      EXPECT_EQ(sibling.value, PlainValue(author + "'s version"));
      seen.emplace(author, sibling.hlc_wall_millis);
    }
    EXPECT_EQ(seen, (std::set<std::pair<std::string, std::uint64_t>>{{"alice", kNow + 1000},
                                                                     {"bruno", kNow + 2000}}));
    EXPECT_EQ(notes->winner.value, PlainValue(std::string("bruno's version")));  // highest clock
    auto conflicts = device->conflicts();
    ASSERT_TRUE(conflicts.ok());
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_EQ((*conflicts)[0].key, *interview);
    auto status = device->status();
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->fields_in_conflict, 1u);
  }

  CASEFILE_ASSERT_OK(alice_.resolve(*interview, "notes", std::string("merged by alice"), kNow + 3000));
  ASSERT_NO_FATAL_FAILURE(push(alice_));
  ASSERT_NO_FATAL_FAILURE(pull(alice_));
  ASSERT_NO_FATAL_FAILURE(pull(bruno_));
  for (FieldDevice* device : {&alice_, &bruno_}) {
    auto read = device->read(*interview);
    ASSERT_TRUE(read.ok());
    const FieldRead* notes = find_field(*read, "notes");
    EXPECT_FALSE(notes->in_conflict());
    EXPECT_EQ(notes->winner.value, PlainValue(std::string("merged by alice")));
    EXPECT_EQ(notes->winner.author, alice_.profile().device_id);
    auto conflicts = device->conflicts();
    ASSERT_TRUE(conflicts.ok());
    EXPECT_TRUE(conflicts->empty());
  }
}

}  // namespace
}  // namespace casefile::device
