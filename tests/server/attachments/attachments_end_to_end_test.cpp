// Attachments end to end: the real casefiled on a real instance over pinned
// TLS, devices enrolled and signed in through the real routes, an attachments
// record pushed signed, then its ciphertext uploaded with tus 1.0.0 by a raw
// HTTPS client (chunks, a cut connection and a resume, refused chunks) and
// downloaded whole and by range. Random bytes stand for ciphertext: the server
// never decrypts, it only checks sizes and SHA-256 digests.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>
#include <thread>

#include "../casefiled_process.hpp"
#include "../sync_api/sync_api_test_support.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/key_file.hpp"
#include "crypto/segmented_stream.hpp"
#include "crypto/x25519.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/attachments/tus_headers.hpp"
#include "server/instance.hpp"
#include "sync/change_json.hpp"
#include "sync/device_authentication.hpp"
#include "sync/response_json.hpp"
#include "tus_client.hpp"

namespace casefile::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace casefile::server::testing;

constexpr const char* kPassphrase = "correct horse battery staple";

class AttachmentsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InstanceRequest request;
    request.root = directory_.path() / "instance";
    request.admin_passphrase = kPassphrase;
    auto summary = create_instance(request);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    root_ = request.root;
    pin_ = summary->tls_spki_pin;
    control_ = std::move(SqlCipherControlStore::open_in_instance(root_).value());
    administration_ = std::make_unique<AccessAdministration>(*control_, "admin:test");
    ASSERT_TRUE(administration_->add_user("amina", Role::lawyer).ok());
    ASSERT_TRUE(administration_->add_user("bruno", Role::lawyer).ok());
    ASSERT_TRUE(administration_->add_user("olga", Role::lawyer).ok());
    auto seed = crypto::load_key_file(InstanceLayout(root_).authority_key(), kPassphrase,
                                      crypto::kKeyFilePurposeOrgAuthority);
    ASSERT_TRUE(seed.ok()) << seed.error().message;
    authority_ =
        std::make_unique<crypto::Ed25519PrivateKey>(*crypto::Ed25519PrivateKey::from_seed(seed->view()));
    context_ = std::make_unique<net::ssl::context>(pinned_client_context(pin_));
  }

  void start(std::vector<std::string> flags = {}) {
    server_ = std::make_unique<CasefiledProcess>(InstanceLayout(root_).config(),
                                                 directory_.path() / "casefiled.log", pin_, std::move(flags));
  }

  std::unique_ptr<TlsClient> connect() {
    auto client = std::make_unique<TlsClient>(*context_, server_->port());
    if (auto error = client->connect()) throw std::runtime_error("connect failed: " + error.message());
    return client;
  }

  FieldDevice enrol(TlsClient& client, const std::string& user, std::uint64_t number) {
    return enrol_device(client, *administration_, *authority_, pin_, user, number);
  }

  sync::CaseId open_case(TlsClient& client, const FieldDevice& device, std::uint64_t number) {
    const sync::CaseId case_id = case_number(number);
    const auto created = send(client, "POST", "/v1/cases", device.token,
                              json::serialize(json::object{{"case_id", sync::to_text(case_id)}}));
    EXPECT_EQ(created.result_int(), 201u) << created.body();
    return case_id;
  }

  HttpResponse create_upload(TlsClient& client, const FieldDevice& device, const sync::CaseId& case_id,
                             const sync::RecordId& record_id, std::uint64_t length) {
    return send(
        client, "POST", "/v1/uploads", device.token, {},
        tus_headers() + "Upload-Length: " + std::to_string(length) + "\r\n" + metadata(case_id, record_id));
  }

  HttpResponse patch(TlsClient& client, const FieldDevice& device, const std::string& location,
                     std::uint64_t offset, std::string_view chunk, bool with_checksum = true) {
    return send(client, "PATCH", location, device.token, std::string(chunk),
                patch_headers(offset, with_checksum ? sha256_base64(chunk) : std::string()));
  }

  // A PATCH refused from its header alone: only the header is sent, on a
  // connection of its own (the server closes it after the answer, since the
  // body it did not read cannot be skipped).
  HttpResponse patch_header_only(const FieldDevice& device, const std::string& location, std::uint64_t offset,
                                 std::uint64_t declared_length) {
    auto connection = connect();
    const std::string header =
        "PATCH " + location + " HTTP/1.1\r\nHost: casefiled\r\nAuthorization: Bearer " + device.token +
        "\r\n" + patch_headers(offset) + "Content-Length: " + std::to_string(declared_length) + "\r\n\r\n";
    if (auto error = connection->write(header)) throw std::runtime_error("write failed: " + error.message());
    HttpResponse response;
    if (auto error = connection->read(response)) throw std::runtime_error("read failed: " + error.message());
    EXPECT_TRUE(connection->closed_by_server());
    return response;
  }

  // Every file under the instance's attachments directory, concatenated.
  std::string attachment_files_content() const {
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(root_ / "attachments")) {
      if (entry.is_regular_file()) all += read_file(entry.path());
    }
    return all;
  }

  std::size_t upload_files() const {
    std::size_t count = 0;
    for (const auto& entry : fs::directory_iterator(root_ / "attachments" / "uploads"))
      count += entry.is_regular_file();
    return count;
  }

  TemporaryDirectory directory_;
  fs::path root_;
  crypto::Sha256Digest pin_{};
  std::unique_ptr<SqlCipherControlStore> control_;
  std::unique_ptr<AccessAdministration> administration_;
  std::unique_ptr<crypto::Ed25519PrivateKey> authority_;
  std::unique_ptr<CasefiledProcess> server_;
  std::unique_ptr<net::ssl::context> context_;
};

TEST_F(AttachmentsEndToEndTest, UploadsInChunksResumesAfterACutAndServesWholeAndRanges) {
  start();
  auto client = connect();
  FieldDevice amina = enrol(*client, "amina", 1);
  const sync::CaseId case_id = open_case(*client, amina, 1);
  const sync::RecordId record_id = record_number(1);
  const std::string content = random_bytes(300 * 1024 + 17, 1);
  push_attachment_record(*client, amina, case_id, record_id, content.size(), sha256_hex(content));

  const auto options = send(*client, "OPTIONS", "/v1/uploads");
  EXPECT_EQ(options.result_int(), 204u);
  EXPECT_EQ(options["Tus-Version"], "1.0.0");
  EXPECT_EQ(options["Tus-Extension"], "creation,checksum,termination,expiration");
  EXPECT_EQ(options["Tus-Checksum-Algorithm"], "sha256");

  // No Tus-Resumable: 412.
  const auto unversioned = send(*client, "POST", "/v1/uploads", amina.token, {},
                                "Upload-Length: 1\r\n" + metadata(case_id, record_id));
  EXPECT_EQ(unversioned.result_int(), 412u);
  EXPECT_EQ(error_code_of(unversioned), "tus_version_unsupported");
  // A length other than the record's size_bytes: 409.
  const auto wrong_length = create_upload(*client, amina, case_id, record_id, content.size() - 1);
  EXPECT_EQ(wrong_length.result_int(), 409u);
  EXPECT_EQ(error_code_of(wrong_length), "upload_length_mismatch");
  // A record the server does not hold: 409.
  const auto unknown = create_upload(*client, amina, case_id, record_number(99), content.size());
  EXPECT_EQ(unknown.result_int(), 409u);
  EXPECT_EQ(error_code_of(unknown), "attachment_record_unknown");

  const auto created = create_upload(*client, amina, case_id, record_id, content.size());
  ASSERT_EQ(created.result_int(), 201u) << created.body();
  const std::string location(created[http::field::location]);
  EXPECT_EQ(location.size(), std::string("/v1/uploads/").size() + 32);
  EXPECT_EQ(created["Upload-Offset"], "0");
  EXPECT_EQ(created["Tus-Resumable"], "1.0.0");
  EXPECT_FALSE(created["Upload-Expires"].empty());
  // Asking again (a lost answer) gives the same upload.
  EXPECT_EQ(create_upload(*client, amina, case_id, record_id, content.size())[http::field::location],
            location);

  // First chunk, with its checksum.
  const std::size_t first = 100 * 1024;
  const auto first_patch = patch(*client, amina, location, 0, std::string_view(content).substr(0, first));
  ASSERT_EQ(first_patch.result_int(), 204u) << first_patch.body();
  EXPECT_EQ(first_patch["Upload-Offset"], std::to_string(first));

  // A corrupted chunk: 460, nothing kept.
  std::string corrupted = content.substr(first, 1000);
  const std::string honest_checksum = sha256_base64(corrupted);
  corrupted[10] ^= 0x01;
  const auto refused =
      send(*client, "PATCH", location, amina.token, corrupted, patch_headers(first, honest_checksum));
  EXPECT_EQ(refused.result_int(), 460u);
  EXPECT_EQ(error_code_of(refused), "checksum_mismatch");
  // A stale offset: 409.
  const auto stale = patch_header_only(amina, location, 0, 10);
  EXPECT_EQ(stale.result_int(), 409u);
  EXPECT_EQ(error_code_of(stale), "upload_offset_mismatch");
  // A body past Upload-Length: 413, nothing appended.
  const auto oversized = patch_header_only(amina, location, first, content.size() - first + 1);
  EXPECT_EQ(oversized.result_int(), 413u);
  EXPECT_EQ(error_code_of(oversized), "upload_too_large");
  // Another device cannot see it.
  auto other = connect();
  FieldDevice bruno = enrol(*other, "bruno", 2);
  EXPECT_EQ(send_head(*other, location, bruno.token).result_int(), 404u);

  auto head = send_head(*client, location, amina.token);
  ASSERT_EQ(head.result_int(), 200u);
  EXPECT_EQ(head["Upload-Offset"], std::to_string(first));
  EXPECT_EQ(head["Upload-Length"], std::to_string(content.size()));
  EXPECT_EQ(head[http::field::cache_control], "no-store");

  // A PATCH without checksum cut mid-body by a dropped connection: the bytes
  // that arrived are kept (tus core).
  const std::size_t sent = 50 * 1024;
  {
    auto cut = connect();
    const std::string declared = content.substr(first, 150 * 1024);
    std::string request = "PATCH " + location + " HTTP/1.1\r\nHost: casefiled\r\nAuthorization: Bearer " +
                          amina.token + "\r\n" + patch_headers(first) +
                          "Content-Length: " + std::to_string(declared.size()) + "\r\n\r\n" +
                          declared.substr(0, sent);
    ASSERT_FALSE(cut->write(request));
    // The connection drops mid-body, without close_notify: a FIN after the
    // bytes, and the client reads what the server sent until it closes (an
    // unread TLS session ticket would turn the close into a reset that can
    // discard bytes in flight, making the kept count a matter of timing).
    cut->shutdown_send();
    EXPECT_TRUE(cut->closed_by_server());
  }
  std::string resumed_offset;
  for (int attempt = 0; attempt < 1200; ++attempt) {
    resumed_offset = std::string(send_head(*client, location, amina.token)["Upload-Offset"]);
    if (resumed_offset != std::to_string(first)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(resumed_offset, std::to_string(first + sent));

  // Resume from there to the end, in two chunks.
  const std::size_t middle = first + sent + 64 * 1024;
  ASSERT_EQ(patch(*client, amina, location, first + sent,
                  std::string_view(content).substr(first + sent, middle - first - sent))
                .result_int(),
            204u);
  const auto last = patch(*client, amina, location, middle, std::string_view(content).substr(middle), false);
  ASSERT_EQ(last.result_int(), 204u) << last.body();
  EXPECT_EQ(last["Upload-Offset"], std::to_string(content.size()));
  EXPECT_EQ(send_head(*client, location, amina.token).result_int(), 404u);  // finished: no longer an upload
  const auto again = create_upload(*client, amina, case_id, record_id, content.size());
  EXPECT_EQ(again.result_int(), 409u);
  EXPECT_EQ(error_code_of(again), "attachment_already_stored");

  // Downloads: whole, one range, a suffix, unsatisfiable; a member of the case only.
  ASSERT_TRUE(administration_->add_case_member(case_id, "bruno").ok());
  const std::string target =
      "/v1/cases/" + sync::to_text(case_id) + "/attachments/" + sync::to_text(record_id);
  const auto whole = send(*other, "GET", target, bruno.token);
  ASSERT_EQ(whole.result_int(), 200u) << whole.body();
  EXPECT_EQ(whole.body(), content);
  EXPECT_EQ(whole[http::field::etag], "\"" + sha256_hex(content) + "\"");
  EXPECT_EQ(whole[http::field::accept_ranges], "bytes");
  EXPECT_EQ(whole[http::field::content_type], "application/octet-stream");
  const auto range = send(*client, "GET", target, amina.token, {}, "Range: bytes=1000-70999\r\n");
  ASSERT_EQ(range.result_int(), 206u);
  EXPECT_EQ(range.body(), content.substr(1000, 70000));
  EXPECT_EQ(range[http::field::content_range], "bytes 1000-70999/" + std::to_string(content.size()));
  const auto suffix = send(*client, "GET", target, amina.token, {}, "Range: bytes=-10\r\n");
  ASSERT_EQ(suffix.result_int(), 206u);
  EXPECT_EQ(suffix.body(), content.substr(content.size() - 10));
  const auto beyond = send(*client, "GET", target, amina.token, {},
                           "Range: bytes=" + std::to_string(content.size()) + "-\r\n");
  EXPECT_EQ(beyond.result_int(), 416u);
  EXPECT_EQ(beyond[http::field::content_range], "bytes */" + std::to_string(content.size()));
  const auto missing = send(
      *client, "GET",
      "/v1/cases/" + sync::to_text(case_id) + "/attachments/" + sync::to_text(record_number(5)), amina.token);
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_EQ(error_code_of(missing), "attachment_not_found");
  auto outsider_connection = connect();
  FieldDevice olga = enrol(*outsider_connection, "olga", 3);
  const auto outsider = send(*outsider_connection, "GET", target, olga.token);
  EXPECT_EQ(outsider.result_int(), 403u);
  EXPECT_EQ(error_code_of(outsider), "case_not_member");

  // Metrics count the bytes; the audit log records the stored attachment.
  const std::string metrics = send(*client, "GET", "/metrics").body();
  EXPECT_NE(metrics.find("casefile_attachment_uploads_total{outcome=\"completed\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("casefile_attachment_uploaded_bytes_total " + std::to_string(content.size())),
            std::string::npos);
  AuditQuery query;
  query.event = "attachment_stored";
  EXPECT_EQ(control_->query_audit(query).value().size(), 1u);
}

TEST_F(AttachmentsEndToEndTest, ContentThatDoesNotMatchTheRecordIsDiscarded) {
  start();
  auto client = connect();
  FieldDevice amina = enrol(*client, "amina", 1);
  const sync::CaseId case_id = open_case(*client, amina, 1);
  const std::string content = random_bytes(4096, 2);
  std::string other = content;
  other[100] ^= 0x20;
  push_attachment_record(*client, amina, case_id, record_number(1), content.size(), sha256_hex(other));
  const auto created = create_upload(*client, amina, case_id, record_number(1), content.size());
  ASSERT_EQ(created.result_int(), 201u);
  const std::string location(created[http::field::location]);
  const auto finished = patch(*client, amina, location, 0, content);
  EXPECT_EQ(finished.result_int(), 460u);
  EXPECT_EQ(error_code_of(finished), "attachment_checksum_mismatch");
  EXPECT_EQ(send_head(*client, location, amina.token).result_int(), 404u);
  EXPECT_EQ(upload_files(), 0u);
  const auto download = send(
      *client, "GET",
      "/v1/cases/" + sync::to_text(case_id) + "/attachments/" + sync::to_text(record_number(1)), amina.token);
  EXPECT_EQ(download.result_int(), 404u);
}

TEST_F(AttachmentsEndToEndTest, QuotaExpiryTerminationAndAccessAreEnforced) {
  start({"--device-quota-bytes", "10000", "--upload-expiry-seconds", "1", "--sweep-interval-seconds", "1"});
  auto client = connect();
  FieldDevice amina = enrol(*client, "amina", 1);
  auto outsider_connection = connect();
  FieldDevice olga = enrol(*outsider_connection, "olga", 3);
  const sync::CaseId case_id = open_case(*client, amina, 1);
  const std::string small = random_bytes(6000, 3);
  push_attachment_record(*client, amina, case_id, record_number(1), small.size(), sha256_hex(small));
  push_attachment_record(*client, amina, case_id, record_number(2), small.size(), sha256_hex(small));

  // A non-member: 403 before anything else is said about the case.
  const auto foreign = create_upload(*outsider_connection, olga, case_id, record_number(1), small.size());
  EXPECT_EQ(foreign.result_int(), 403u);
  EXPECT_EQ(error_code_of(foreign), "case_not_member");

  // 6000 bytes fit in the 10000-byte quota; a second 6000 do not.
  const auto created = create_upload(*client, amina, case_id, record_number(1), small.size());
  ASSERT_EQ(created.result_int(), 201u) << created.body();
  const auto over_quota = create_upload(*client, amina, case_id, record_number(2), small.size());
  EXPECT_EQ(over_quota.result_int(), 403u);
  EXPECT_EQ(error_code_of(over_quota), "upload_quota_exceeded");

  // Termination frees the quota and removes the partial file.
  const std::string location(created[http::field::location]);
  ASSERT_EQ(patch(*client, amina, location, 0, std::string_view(small).substr(0, 1000)).result_int(), 204u);
  EXPECT_EQ(upload_files(), 1u);
  EXPECT_EQ(send(*client, "DELETE", location, amina.token, {}, tus_headers()).result_int(), 204u);
  EXPECT_EQ(upload_files(), 0u);
  EXPECT_EQ(send_head(*client, location, amina.token).result_int(), 404u);

  // An upload left alone expires (410 or, once swept, 404) and its file goes.
  const auto second = create_upload(*client, amina, case_id, record_number(2), small.size());
  ASSERT_EQ(second.result_int(), 201u) << second.body();
  const std::string second_location(second[http::field::location]);
  ASSERT_EQ(patch(*client, amina, second_location, 0, std::string_view(small).substr(0, 1000)).result_int(),
            204u);
  ASSERT_TRUE(server_->wait_for_log_event("uploads_swept"));
  EXPECT_EQ(send_head(*client, second_location, amina.token).result_int(), 404u);
  EXPECT_EQ(upload_files(), 0u);

  // A revoked device's token no longer works.
  ASSERT_TRUE(administration_->revoke_device(amina.id, *authority_, "lost").ok());
  const auto revoked = create_upload(*client, amina, case_id, record_number(2), small.size());
  EXPECT_TRUE(revoked.result_int() == 401u || revoked.result_int() == 403u) << revoked.result_int();
  EXPECT_EQ(error_code_of(revoked), "device_revoked");
}

TEST_F(AttachmentsEndToEndTest, DevicesUploadAtOnceAndTheDirectoryHoldsOnlyCiphertext) {
  start();
  auto first_connection = connect();
  auto second_connection = connect();
  FieldDevice amina = enrol(*first_connection, "amina", 1);
  FieldDevice bruno = enrol(*second_connection, "bruno", 2);
  const sync::CaseId case_id = open_case(*first_connection, amina, 1);
  ASSERT_TRUE(administration_->add_case_member(case_id, "bruno").ok());

  // Ciphertext as the device makes it: STREAM over a marker-filled plaintext.
  const std::string marker = "PLAINTEXT-MARKER-7f3a";
  std::string plaintext;
  while (plaintext.size() < 200 * 1024) plaintext += marker;
  const crypto::Bytes file_key(32, 0x5a);
  std::string ciphertext[2];
  for (int i = 0; i < 2; ++i) {
    const std::string associated = sync::to_text(case_id) + "\n" + sync::to_text(record_number(10 + i));
    auto encryptor =
        crypto::StreamEncryptor::start(file_key, "casefile attachment v1", crypto::as_bytes(associated))
            .value();
    const auto body = encryptor.write(crypto::as_bytes(plaintext)).value();
    const auto tail = encryptor.finish().value();
    ciphertext[i].assign(body.begin(), body.end());
    ciphertext[i].append(tail.begin(), tail.end());
  }
  FieldDevice* devices[2] = {&amina, &bruno};
  TlsClient* connections[2] = {first_connection.get(), second_connection.get()};
  for (int i = 0; i < 2; ++i) {
    push_attachment_record(*connections[i], *devices[i], case_id, record_number(10 + i), ciphertext[i].size(),
                           sha256_hex(ciphertext[i]));
  }
  unsigned statuses[2] = {0, 0};
  std::vector<std::thread> uploaders;
  for (int i = 0; i < 2; ++i) {
    uploaders.emplace_back([&, i] {
      auto created =
          create_upload(*connections[i], *devices[i], case_id, record_number(10 + i), ciphertext[i].size());
      if (created.result_int() != 201u) return;
      const std::string location(created[http::field::location]);
      std::uint64_t offset = 0;
      unsigned status = 0;
      while (offset < ciphertext[i].size()) {
        const auto chunk = std::string_view(ciphertext[i]).substr(offset, 64 * 1024);
        const auto answer = patch(*connections[i], *devices[i], location, offset, chunk);
        status = answer.result_int();
        if (status != 204u) {
          ADD_FAILURE() << answer.body();
          break;
        }
        offset += chunk.size();
      }
      statuses[i] = status;
    });
  }
  for (auto& uploader : uploaders) uploader.join();
  EXPECT_EQ(statuses[0], 204u);
  EXPECT_EQ(statuses[1], 204u);
  for (int i = 0; i < 2; ++i) {
    const auto download =
        send(*connections[1 - i], "GET",
             "/v1/cases/" + sync::to_text(case_id) + "/attachments/" + sync::to_text(record_number(10 + i)),
             devices[1 - i]->token);
    ASSERT_EQ(download.result_int(), 200u);
    EXPECT_EQ(download.body(), ciphertext[i]);
  }

  // The scan finds the marker in plaintext (it can fail) and nowhere on disk.
  EXPECT_NE(plaintext.find(marker), std::string::npos);
  const std::string stored = attachment_files_content();
  EXPECT_EQ(stored.size(), ciphertext[0].size() + ciphertext[1].size());
  EXPECT_EQ(stored.find(marker), std::string::npos);
}

}  // namespace
}  // namespace casefile::server

namespace casefile::server {
namespace {

// The upload lease through casefiled: while a PATCH body is arriving, a
// second PATCH and a DELETE of that upload are refused 409 upload_busy; once
// it is answered, the next PATCH takes the upload and completes it.
TEST_F(AttachmentsEndToEndTest, APatchBeingWrittenHoldsItsUploadAgainstAnotherPatchAndADelete) {
  start();
  auto client = connect();
  FieldDevice amina = enrol(*client, "amina", 1);
  const sync::CaseId case_id = open_case(*client, amina, 1);
  const std::string content = random_bytes(2 * 1024 * 1024, 11);
  push_attachment_record(*client, amina, case_id, record_number(1), content.size(), sha256_hex(content));
  const auto created = create_upload(*client, amina, case_id, record_number(1), content.size());
  ASSERT_EQ(created.result_int(), 201u) << created.body();
  const std::string location(created[http::field::location]);
  const fs::path upload_file = root_ / "attachments" / "uploads" / location.substr(location.rfind('/') + 1);

  // The first half of the first chunk's body; the rest is held back.
  const std::string_view chunk = std::string_view(content).substr(0, content.size() / 2);
  auto writer = connect();
  const std::string header = "PATCH " + location + " HTTP/1.1\r\nHost: casefiled\r\nAuthorization: Bearer " +
                             amina.token + "\r\n" + patch_headers(0, sha256_base64(chunk)) +
                             "Content-Length: " + std::to_string(chunk.size()) + "\r\n\r\n";
  ASSERT_FALSE(writer->write(header + std::string(chunk.substr(0, chunk.size() / 2))));
  // Bytes on disk: the PATCH holds the lease and is streaming.
  for (int wait = 0; wait < 600 && (!fs::exists(upload_file) || fs::file_size(upload_file) == 0); ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(fs::file_size(upload_file), 0u);

  const auto second = patch_header_only(amina, location, 0, chunk.size());
  EXPECT_EQ(second.result_int(), 409u);
  EXPECT_EQ(error_code_of(second), "upload_busy");
  const auto deleted = send(*client, "DELETE", location, amina.token, {}, tus_headers());
  EXPECT_EQ(deleted.result_int(), 409u);
  EXPECT_EQ(error_code_of(deleted), "upload_busy");

  ASSERT_FALSE(writer->write(chunk.substr(chunk.size() / 2)));
  HttpResponse first;
  ASSERT_FALSE(writer->read(first));
  ASSERT_EQ(first.result_int(), 204u) << first.body();
  EXPECT_EQ(first["Upload-Offset"], std::to_string(chunk.size()));
  const auto last =
      patch(*client, amina, location, chunk.size(), std::string_view(content).substr(chunk.size()));
  ASSERT_EQ(last.result_int(), 204u) << last.body();
  EXPECT_EQ(last["Upload-Offset"], std::to_string(content.size()));
}

}  // namespace
}  // namespace casefile::server
