// Attachments on the device (issue #8; docs/device.md "Attachments",
// docs/crypto.md "Attachments", docs/device-sync.md "Attachments").
//
//   auto added = device::add_attachment(field_device, {case_id, "interview.ogg", "audio"}, now_ms);
//   ... device::SyncClient::sync_once uploads it after the record push ...
//   auto fetched = device::fetch_attachment(field_device, sender, record, "out.ogg", progress);
//
// add_attachment encrypts the file with a fresh 32-byte content key
// (crypto::StreamEncryptor, purpose "casefile attachment v1", associated
// data "<case_id>\n<record_id>") into <device dir>/attachments/<record_id>.cfss,
// so the content is encrypted at rest, and writes the attachments record
// (size_bytes and ciphertext_sha256 of the ciphertext, the sealed
// content_key) together with its row in the attachment outbox, in one
// transaction. Uploads (tus 1.0.0) and downloads (HTTP Range) move the
// ciphertext; memory never grows with the file's size.
//
// Threading: as FieldDevice (one thread at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "device/field_device.hpp"
#include "device/https_client.hpp"
#include "sync/ids.hpp"

namespace casefile::device {

inline constexpr std::string_view kAttachmentPurpose = "casefile attachment v1";
inline constexpr std::string_view kAttachmentsCollection = "attachments";

struct AttachmentInput {
  sync::CaseId case_id;
  std::filesystem::path file;  // plaintext, read once
  std::string media_category;  // "audio", "photo" or "document"
  std::optional<std::string> file_name{};
  std::optional<std::string> description{};
  std::optional<std::int64_t> duration_seconds{};
};

enum class AttachmentState { pending, uploaded, quarantined };
std::string_view attachment_state_name(AttachmentState state);

// One row of the attachment outbox.
struct AttachmentStatus {
  sync::RecordKey record;
  std::uint64_t size_bytes = 0;      // ciphertext
  std::uint64_t uploaded_bytes = 0;  // the offset the server acknowledged
  AttachmentState state = AttachmentState::pending;
  std::optional<std::string> upload_url;  // the tus upload, once created
  std::uint64_t attempts = 0;             // failed tries so far
  std::string last_error_code;            // empty when none
  std::string last_error_message;
};

struct AttachmentProgress {
  sync::RecordId record_id;
  std::uint64_t done = 0;  // ciphertext bytes
  std::uint64_t total = 0;
};
using AttachmentProgressCallback = std::function<void(const AttachmentProgress&)>;

// Sends one authenticated request to the device's server (the SyncClient's
// retries, sign-in and revocation handling: SyncClient::send).
using AuthenticatedSender = std::function<Result<HttpsResponse>(const HttpsRequest&)>;

struct AttachmentUploadOptions {
  std::uint64_t chunk_bytes = 8 * 1024 * 1024;  // one PATCH, with its Upload-Checksum
  // "upload_busy" (the server still writes a PATCH this device gave up on):
  // wait this long, then ask HEAD again, at most busy_retries times an attachment.
  std::chrono::milliseconds busy_wait{500};
  int busy_retries = 20;
};

struct AttachmentUploadReport {
  std::uint64_t uploaded = 0;     // completed in this pass
  std::uint64_t failed = 0;       // tried and failed (recorded on the attachment; retried next sync)
  std::uint64_t quarantined = 0;  // refused for good in this pass
  std::uint64_t waiting = 0;      // their record is still in the outbox: uploaded after it is pushed
  std::uint64_t bytes_sent = 0;
};

// Encrypts `input.file` and records the attachment (see above). Errors:
// "io_error" (the file cannot be read or the ciphertext written),
// "invalid_argument" (not a regular file), FieldDevice::write's (the
// schema's codes: a bad category is "not_in_enumeration"), the store's. On error
// nothing is recorded and no ciphertext is left behind.
Result<sync::RecordKey> add_attachment(FieldDevice& device, const AttachmentInput& input,
                                       std::int64_t now_ms);

// The attachment outbox, in the order attachments were added.
Result<std::vector<AttachmentStatus>> list_attachments(FieldDevice& device,
                                                       std::optional<sync::CaseId> case_id = std::nullopt);

// Uploads every pending attachment whose record has left the record outbox
// (the server acknowledged it), in order: creates the tus upload (or asks
// HEAD for the offset of the stored one), then PATCHes chunks with
// Upload-Checksum, storing the acknowledged offset after each. A failure is
// recorded on its attachment (code, attempts) and never returned; a
// transport failure ends the pass (the next sync resumes). A refusal for good
// (attachment_checksum_mismatch, upload_length_mismatch, upload_too_large) is
// quarantined with the server's reason. Errors: only those that must stop a
// sync: "device_wiped" and the like from `send`, the store's.
Result<AttachmentUploadReport> upload_pending_attachments(FieldDevice& device,
                                                          const AuthenticatedSender& send,
                                                          const AttachmentProgressCallback& progress,
                                                          const AttachmentUploadOptions& options = {});

// Downloads the attachment of `record` (an attachments record this device
// holds and can read) with HTTP Range, resuming into
// <device dir>/attachments/<record_id>.download, checks its SHA-256 against
// the record's ciphertext_sha256, and decrypts it to `output`
// (decrypt_attachment_file). Errors: "record_unknown", "not_an_attachment",
// "attachment_key_unreadable" (no readable content_key), the server's
// ("attachment_not_found", "case_not_member", ...), transport errors,
// "attachment_checksum_mismatch" (the partial download is discarded),
// decrypt_attachment_file's.
Status fetch_attachment(FieldDevice& device, const AuthenticatedSender& send, const sync::RecordKey& record,
                        const std::filesystem::path& output, const AttachmentProgressCallback& progress);

// Decrypts an attachment's ciphertext file to `output` streaming: into a
// temporary file beside it, renamed over `output` only after the stream's
// last segment verified. On error nothing is left at `output` (nor the
// temporary). Errors: "stream_malformed", "stream_corrupt",
// "stream_truncated", "io_error".
Status decrypt_attachment_file(const std::filesystem::path& ciphertext,
                               const crypto::SecretBytes& content_key, const sync::RecordKey& record,
                               const std::filesystem::path& output);

// Where add_attachment keeps the ciphertext of `record_id`.
std::filesystem::path attachment_ciphertext_path(const FieldDevice& device, const sync::RecordId& record_id);

}  // namespace casefile::device
