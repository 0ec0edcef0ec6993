// Device attachments (device/attachments.hpp) over real SQLCipher replicas
// and real files: encryption at rest, the attachment outbox's order and
// resumption state, quarantine of refused uploads, and decryption refusals.
// The server side is a scripted tus 1.0.0 endpoint in this process (the
// contract of docs/protocol.md "Attachments"); tests/e2e/attachments_e2e_test
// runs the same client against a real casefiled.
#include "device/attachments.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <map>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/segmented_stream.hpp"
#include "sync/push.hpp"
#include "tests/device/field_device_test_support.hpp"

namespace casefile::device {
namespace {

using testing::case_fields;
using testing::create_device;
using testing::find_field;
using testing::kNow;
using testing::read_file;
using testing::ScratchDirectory;

constexpr std::string_view kMarker = "ATTACHMENT-PLAINTEXT-MARKER";

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

// Plaintext of `size` bytes with the marker every 4 KiB.
std::string plaintext_of(std::size_t size, char filler) {
  std::string text(size, filler);
  for (std::size_t at = 0; at + kMarker.size() <= size; at += 4096) text.replace(at, kMarker.size(), kMarker);
  return text;
}

std::string base64_of(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3), '\0');
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

HttpsResponse answer(unsigned status, HttpHeaders headers = {}, std::string code = {}) {
  HttpsResponse response;
  response.status = status;
  response.headers = std::move(headers);
  if (!code.empty()) {
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = R"({"error":")" + code + R"(","message":"scripted"})";
  }
  return response;
}

// A tus 1.0.0 server in memory: uploads keyed by Location, each holding the
// bytes received. Faults are scripted per request number.
class ScriptedTusServer {
 public:
  struct Upload {
    std::string record_id;
    std::uint64_t length = 0;
    std::string bytes;
  };

  Result<HttpsResponse> operator()(const HttpsRequest& request) {
    ++requests;
    methods.push_back(request.method);
    if (cut_patch_number && request.method == "PATCH" && ++patches == *cut_patch_number) {
      return make_error("connection_lost", "scripted cut");
    }
    if (refuse_post_code && request.method == "POST") return answer(409, {}, *refuse_post_code);
    if (request.method == "POST") return create(request);
    auto found = uploads.find(request.target);
    if (found == uploads.end()) return answer(404, {}, "upload_not_found");
    Upload& upload = found->second;
    if (request.method == "HEAD") {
      return answer(200, {{"Upload-Offset", std::to_string(upload.bytes.size())},
                          {"Upload-Length", std::to_string(upload.length)}});
    }
    if (request.method != "PATCH" || !request.body_file) return answer(400, {}, "bad_request");
    if (header(request, "Upload-Offset") != std::to_string(upload.bytes.size()))
      return answer(409, {}, "upload_offset_mismatch");
    const std::string file = read_file(request.body_file->path);
    const std::string body = file.substr(request.body_file->offset, request.body_file->length);
    const crypto::Sha256Digest digest = crypto::sha256(crypto::as_bytes(body));
    const std::string expected =
        "sha256 " + base64_of(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
    if (header(request, "Upload-Checksum") != expected) return answer(460, {}, "checksum_mismatch");
    upload.bytes += body;
    if (upload.bytes.size() == upload.length && refuse_completion) {
      uploads.erase(found);
      return answer(460, {}, "attachment_checksum_mismatch");
    }
    if (upload.bytes.size() == upload.length) completed.push_back(upload);
    return answer(204, {{"Upload-Offset", std::to_string(upload.bytes.size())}});
  }

  static std::string header(const HttpsRequest& request, std::string_view name) {
    for (const auto& [field, value] : request.headers) {
      if (field == name) return value;
    }
    return {};
  }

  int requests = 0;
  int patches = 0;
  std::vector<std::string> methods;
  std::optional<int> cut_patch_number;  // the Nth PATCH is cut before the server saw it
  std::optional<std::string> refuse_post_code;
  bool refuse_completion = false;
  std::map<std::string, Upload> uploads;
  std::vector<Upload> completed;
  std::vector<std::string> created_for;  // record ids, in order of POST

 private:
  Result<HttpsResponse> create(const HttpsRequest& request) {
    const std::string metadata = header(request, "Upload-Metadata");
    const auto record_at = metadata.find("record_id ");
    Upload upload;
    upload.record_id = metadata.substr(record_at + 10);
    upload.length = std::stoull(header(request, "Upload-Length"));
    const std::string location = "/v1/uploads/" + std::to_string(uploads.size() + completed.size() + 1);
    uploads[location] = upload;
    created_for.push_back(upload.record_id);
    return answer(201, {{"Location", location}, {"Upload-Offset", "0"}});
  }
};

class AttachmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    device_.emplace(create_device(scratch_.path() / "device", "passphrase"));
    auto case_id = device_->create_case(case_fields("a case"), kNow);
    ASSERT_TRUE(case_id.ok()) << case_id.error().code;
    case_id_ = *case_id;
  }

  sync::RecordKey attach(const std::string& plaintext, const std::string& name = "recording.ogg") {
    const std::filesystem::path file = scratch_.path() / ("input-" + std::to_string(++inputs_));
    write_file(file, plaintext);
    auto added =
        add_attachment(*device_, {case_id_, file, "audio", name, std::nullopt, std::int64_t{60}}, kNow);
    if (!added.ok()) throw std::runtime_error(added.error().code + ": " + added.error().message);
    return *added;
  }

  // The server acknowledges every change in the record outbox.
  void acknowledge_records() {
    for (std::uint8_t round = 1;; ++round) {
      sync::BatchId id;
      id.bytes[0] = round;
      auto batch = device_->replica().prepare_push(id, device_->signing_key(), 0, 500);
      ASSERT_TRUE(batch.ok()) << batch.error().code;
      if (!batch->has_value()) return;
      sync::PushResponse response;
      response.server_time_millis = static_cast<std::uint64_t>(kNow);
      for (const auto& change : (*batch)->changes) {
        response.verdicts.push_back(
            sync::Verdict{change.change.id, sync::VerdictKind::accepted, ++sequence_, {}});
      }
      ASSERT_TRUE(device_->replica().apply_push_response(**batch, response, kNow).ok());
    }
  }

  AttachmentStatus status_of(const sync::RecordKey& record) {
    auto listed = list_attachments(*device_);
    if (!listed.ok()) throw std::runtime_error(listed.error().code);
    for (const AttachmentStatus& attachment : *listed) {
      if (attachment.record == record) return attachment;
    }
    throw std::runtime_error("no such attachment");
  }

  Result<AttachmentUploadReport> upload(ScriptedTusServer& server, std::uint64_t chunk = 64 * 1024) {
    AttachmentUploadOptions options;
    options.chunk_bytes = chunk;
    return upload_pending_attachments(
        *device_, [&server](const HttpsRequest& request) { return server(request); },
        [this](const AttachmentProgress& step) { progress_.push_back(step.done); }, options);
  }

  crypto::SecretBytes content_key(const sync::RecordKey& record) {
    auto read = device_->read(record);
    if (!read.ok()) throw std::runtime_error(read.error().code);
    const FieldRead* key = find_field(*read, "content_key");
    if (key == nullptr) throw std::runtime_error("no content_key");
    crypto::Bytes bytes;
    if (!crypto::from_hex(std::get<std::string>(key->winner.value), bytes)) throw std::runtime_error("hex");
    return crypto::SecretBytes(bytes);
  }

  ScratchDirectory scratch_;
  std::optional<FieldDevice> device_;
  sync::CaseId case_id_;
  int inputs_ = 0;
  std::uint64_t sequence_ = 0;
  std::vector<std::uint64_t> progress_;
};

TEST_F(AttachmentsTest, AddedAttachmentIsEncryptedAtRestAndRecordedWithItsCiphertextFacts) {
  const std::string plaintext = plaintext_of(300 * 1024, 'a');
  const sync::RecordKey record = attach(plaintext);

  const std::filesystem::path ciphertext = attachment_ciphertext_path(*device_, record.record_id);
  const std::string stored = read_file(ciphertext);
  EXPECT_EQ(stored.find(kMarker), std::string::npos);
  EXPECT_TRUE(testing::files_containing(scratch_.path() / "device", std::string(kMarker)).empty());

  auto read = device_->read(record);
  ASSERT_TRUE(read.ok()) << read.error().code;
  EXPECT_EQ(std::get<std::int64_t>(find_field(*read, "size_bytes")->winner.value),
            static_cast<std::int64_t>(stored.size()));
  EXPECT_EQ(std::get<std::string>(find_field(*read, "ciphertext_sha256")->winner.value),
            crypto::to_hex(crypto::sha256(crypto::as_bytes(stored))));
  EXPECT_TRUE(find_field(*read, "content_key")->winner.sealed);
  EXPECT_TRUE(find_field(*read, "file_name")->winner.sealed);

  const AttachmentStatus status = status_of(record);
  EXPECT_EQ(status.state, AttachmentState::pending);
  EXPECT_EQ(status.size_bytes, stored.size());
  EXPECT_EQ(status.uploaded_bytes, 0u);

  const std::filesystem::path output = scratch_.path() / "decrypted";
  ASSERT_TRUE(decrypt_attachment_file(ciphertext, content_key(record), record, output).ok());
  EXPECT_EQ(read_file(output), plaintext);
}

// A file that cannot be read, a directory, and a record the schema refuses:
// each is refused with its code, and none leaves a row or a ciphertext.
TEST_F(AttachmentsTest, AFailedAddRecordsNothingAndLeavesNoCiphertext) {
  auto absent = add_attachment(*device_, {case_id_, scratch_.path() / "absent", "audio"}, kNow);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, "io_error");
  auto directory = add_attachment(*device_, {case_id_, scratch_.path(), "audio"}, kNow);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, "invalid_argument");
  const std::filesystem::path file = scratch_.path() / "input";
  write_file(file, "content");
  auto bad_category = add_attachment(*device_, {case_id_, file, "video"}, kNow);
  ASSERT_FALSE(bad_category.ok());
  EXPECT_EQ(bad_category.error().code, "not_in_enumeration") << bad_category.error().message;

  auto listed = list_attachments(*device_);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_TRUE(testing::files_in(scratch_.path() / "device" / "attachments").empty());
  auto records = device_->list_records(case_id_);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 1u);  // the case record only
}

TEST_F(AttachmentsTest, UploadsWaitForTheirRecordAndGoInTheOrderAdded) {
  const sync::RecordKey first = attach(plaintext_of(10 * 1024, 'a'));
  const sync::RecordKey second = attach(plaintext_of(20 * 1024, 'b'));
  ScriptedTusServer server;
  auto waiting = upload(server);
  ASSERT_TRUE(waiting.ok()) << waiting.error().code;
  EXPECT_EQ(waiting->waiting, 2u);
  EXPECT_EQ(server.requests, 0);  // records first

  acknowledge_records();
  auto done = upload(server);
  ASSERT_TRUE(done.ok()) << done.error().code;
  EXPECT_EQ(done->uploaded, 2u);
  ASSERT_EQ(server.created_for.size(), 2u);
  EXPECT_EQ(server.created_for[0], base64_of(sync::to_text(first.record_id)));
  EXPECT_EQ(server.created_for[1], base64_of(sync::to_text(second.record_id)));
  ASSERT_EQ(server.completed.size(), 2u);
  EXPECT_EQ(server.completed[0].bytes, read_file(attachment_ciphertext_path(*device_, first.record_id)));
  EXPECT_EQ(status_of(first).state, AttachmentState::uploaded);
  EXPECT_EQ(status_of(second).state, AttachmentState::uploaded);
  EXPECT_EQ(status_of(second).uploaded_bytes, status_of(second).size_bytes);
}

TEST_F(AttachmentsTest, AnInterruptedUploadResumesFromTheAcknowledgedOffset) {
  const sync::RecordKey record = attach(plaintext_of(300 * 1024, 'c'));
  acknowledge_records();
  ScriptedTusServer server;
  server.cut_patch_number = 3;
  auto cut = upload(server, 64 * 1024);
  ASSERT_TRUE(cut.ok()) << cut.error().code;
  EXPECT_EQ(cut->failed, 1u);
  AttachmentStatus after_cut = status_of(record);
  EXPECT_EQ(after_cut.state, AttachmentState::pending);
  EXPECT_EQ(after_cut.uploaded_bytes, 2u * 64 * 1024);
  EXPECT_EQ(after_cut.attempts, 1u);
  EXPECT_EQ(after_cut.last_error_code, "connection_lost");
  ASSERT_TRUE(after_cut.upload_url.has_value());

  // A fresh device object (the app restarted): the state is in the replica.
  device_.reset();
  device_.emplace(testing::unlock_device(scratch_.path() / "device", "passphrase"));
  const std::size_t methods_before = server.methods.size();
  auto resumed = upload(server, 64 * 1024);
  ASSERT_TRUE(resumed.ok()) << resumed.error().code;
  EXPECT_EQ(resumed->uploaded, 1u);
  EXPECT_EQ(server.methods[methods_before], "HEAD");  // asks, then continues; no second POST
  EXPECT_EQ(server.created_for.size(), 1u);
  ASSERT_EQ(server.completed.size(), 1u);
  EXPECT_EQ(server.completed[0].bytes, read_file(attachment_ciphertext_path(*device_, record.record_id)));
  EXPECT_EQ(status_of(record).state, AttachmentState::uploaded);
  EXPECT_FALSE(progress_.empty());
  EXPECT_EQ(progress_.back(), status_of(record).size_bytes);
}

TEST_F(AttachmentsTest, ARefusedUploadIsQuarantinedWithItsReasonAndNotRetried) {
  const sync::RecordKey record = attach(plaintext_of(100 * 1024, 'd'));
  acknowledge_records();
  ScriptedTusServer server;
  server.refuse_completion = true;
  auto refused = upload(server);
  ASSERT_TRUE(refused.ok()) << refused.error().code;
  EXPECT_EQ(refused->quarantined, 1u);
  const AttachmentStatus status = status_of(record);
  EXPECT_EQ(status.state, AttachmentState::quarantined);
  EXPECT_EQ(status.last_error_code, "attachment_checksum_mismatch");
  const int requests = server.requests;
  auto again = upload(server);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(server.requests, requests);
}

TEST_F(AttachmentsTest, AFailedUploadIsRecordedAndDoesNotStopTheNext) {
  const sync::RecordKey first = attach(plaintext_of(10 * 1024, 'e'));
  acknowledge_records();
  ScriptedTusServer server;
  server.refuse_post_code = "attachment_record_unknown";
  auto failed = upload(server);
  ASSERT_TRUE(failed.ok()) << failed.error().code;
  EXPECT_EQ(failed->failed, 1u);
  EXPECT_EQ(status_of(first).state, AttachmentState::pending);
  EXPECT_EQ(status_of(first).last_error_code, "attachment_record_unknown");

  const sync::RecordKey second = attach(plaintext_of(10 * 1024, 'f'));
  acknowledge_records();
  server.refuse_post_code.reset();
  auto both = upload(server);
  ASSERT_TRUE(both.ok()) << both.error().code;
  EXPECT_EQ(both->uploaded, 2u);
  EXPECT_EQ(status_of(first).state, AttachmentState::uploaded);
  EXPECT_EQ(status_of(first).attempts, 1u);
  EXPECT_EQ(status_of(second).state, AttachmentState::uploaded);
}

TEST_F(AttachmentsTest, DecryptionRefusesACorruptedOrTruncatedCiphertextAndWritesNothing) {
  const std::string plaintext = plaintext_of(200 * 1024, 'g');
  const sync::RecordKey record = attach(plaintext);
  const std::string stored = read_file(attachment_ciphertext_path(*device_, record.record_id));
  const crypto::SecretBytes key = content_key(record);
  const std::filesystem::path output = scratch_.path() / "out";

  std::string corrupted = stored;
  corrupted[stored.size() / 2] = static_cast<char>(corrupted[stored.size() / 2] ^ 0x01);
  write_file(scratch_.path() / "corrupted", corrupted);
  Status refused = decrypt_attachment_file(scratch_.path() / "corrupted", key, record, output);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "stream_corrupt");
  EXPECT_FALSE(std::filesystem::exists(output));
  EXPECT_FALSE(std::filesystem::exists(scratch_.path() / "out.partial"));

  // Cut after the first whole segment: every byte left verifies, the end is missing.
  const std::size_t header =
      4 + 1 + 1 + kAttachmentPurpose.size() + crypto::kStreamSaltSize + crypto::kStreamNoncePrefixSize;
  write_file(scratch_.path() / "truncated", stored.substr(0, header + crypto::kStreamSealedSegmentSize));
  Status truncated = decrypt_attachment_file(scratch_.path() / "truncated", key, record, output);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, "stream_truncated");
  EXPECT_FALSE(std::filesystem::exists(output));

  // Bound to its record: the same bytes under another record id do not open.
  sync::RecordKey other = record;
  other.record_id.bytes[0] ^= 0x01;
  Status moved =
      decrypt_attachment_file(attachment_ciphertext_path(*device_, record.record_id), key, other, output);
  ASSERT_FALSE(moved.ok());
  EXPECT_FALSE(std::filesystem::exists(output));
}

TEST_F(AttachmentsTest, PurgingTheCaseRemovesItsAttachmentsAndTheirFiles) {
  const sync::RecordKey record = attach(plaintext_of(10 * 1024, 'h'));
  ASSERT_TRUE(std::filesystem::exists(attachment_ciphertext_path(*device_, record.record_id)));
  ASSERT_TRUE(device_->purge_case(case_id_).ok());
  EXPECT_FALSE(std::filesystem::exists(attachment_ciphertext_path(*device_, record.record_id)));
  auto listed = list_attachments(*device_);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

}  // namespace
}  // namespace casefile::device
