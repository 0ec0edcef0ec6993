#include "server/attachments/attachment_endpoints.hpp"

#include <openssl/rand.h>

#include <array>
#include <filesystem>

#include "crypto/bytes.hpp"
#include "crypto/constant_time.hpp"
#include "server/attachments/tus_headers.hpp"

namespace casefile::server {
namespace {

constexpr std::string_view kOffsetMediaType = "application/offset+octet-stream";
constexpr unsigned kChecksumMismatch = 460;  // tus checksum extension

std::string device_actor(const sync::DeviceId& device) { return "device:" + sync::to_text(device); }

Response with_tus(Response response) {
  response.headers.emplace_back("Tus-Resumable", std::string(kTusVersion));
  return response;
}

Response tus_error(unsigned status, std::string_view code, std::string_view message) {
  return with_tus(error_response(status, code, message));
}

Response tus_error(unsigned status, const Error& error) {
  return tus_error(status, error.code, error.message);
}

Response no_content() {
  Response response;
  response.status = 204;
  response.content_type = "text/plain";
  return response;
}

// Store failures: 503 with Retry-After for an unavailable database, 500 otherwise.
Response failure(const Error& error) {
  const bool unavailable = error.code == "store_unavailable";
  Response response = tus_error(unavailable ? 503 : 500, error.code, error.message);
  if (unavailable) response.headers.emplace_back("Retry-After", "1");
  return response;
}

// Every tus request but OPTIONS names the protocol version (tus 1.0.0 §Tus-Resumable).
std::optional<Response> refused_version(const Request& request) {
  if (request.header("Tus-Resumable") == kTusVersion) return std::nullopt;
  Response response = tus_error(412, "tus_version_unsupported", "this server speaks tus 1.0.0 only");
  response.headers.emplace_back("Tus-Version", std::string(kTusVersion));
  return response;
}

bool is_upload_id(std::string_view text) {
  if (text.size() != 32) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> random_upload_id() {
  std::array<std::uint8_t, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return make_error("random_failed", "no randomness for an upload id");
  }
  return crypto::to_hex(crypto::ByteView(bytes.data(), bytes.size()));
}

// Lower-case canonical UUID text only: one spelling for each id.
template <class Id>
std::optional<Id> canonical_id(std::string_view text) {
  auto id = sync::parse_id<Id>(text);
  if (!id || sync::to_text(*id) != text) return std::nullopt;
  return id;
}

// What the server holds of an attachments record: its clear size and digest.
struct AttachmentRecord {
  std::uint64_t size_bytes = 0;
  std::string ciphertext_sha256;
};

// Errors: "attachment_record_unknown" (absent, deleted, or without the two
// clear fields), the store's.
Result<AttachmentRecord> load_attachment_record(sync::ServerStore& records, const sync::CaseId& case_id,
                                                const sync::RecordId& record_id) {
  auto stored = records.load_record(sync::RecordKey{case_id, std::string(kAttachmentsCollection), record_id});
  if (!stored.ok()) return std::move(stored).error();
  const auto unknown = [] {
    return make_error("attachment_record_unknown",
                      "the server holds no such attachments record in that case");
  };
  if (!*stored || (*stored)->state.is_deleted()) return unknown();
  const sync::FieldRegister* size = (*stored)->state.field("size_bytes");
  const sync::FieldRegister* digest = (*stored)->state.field("ciphertext_sha256");
  if (size == nullptr || digest == nullptr || size->winner() == nullptr || digest->winner() == nullptr) {
    return unknown();
  }
  const auto* size_value = std::get_if<std::int64_t>(&size->winner()->value);
  const auto* digest_value = std::get_if<std::string>(&digest->winner()->value);
  if (size_value == nullptr || *size_value < 0 || digest_value == nullptr) return unknown();
  return AttachmentRecord{static_cast<std::uint64_t>(*size_value), *digest_value};
}

std::string expires_header(std::int64_t expires_at_ms) {
  return http_date(std::chrono::system_clock::time_point(std::chrono::milliseconds(expires_at_ms)));
}

Response upload_state(unsigned status, const UploadRow& upload, std::uint64_t offset) {
  Response response = with_tus(no_content());
  response.status = status;
  response.headers.emplace_back("Upload-Offset", std::to_string(offset));
  response.headers.emplace_back("Upload-Expires", expires_header(upload.expires_at_ms));
  return response;
}

}  // namespace

// Appends one PATCH body to the upload's file (tus core + checksum).
class AttachmentEndpoints::UploadSink final : public BodySink {
 public:
  UploadSink(AttachmentEndpoints& endpoints, UploadRow upload, std::string lease_holder, DeviceContext caller,
             std::unique_ptr<FileDescriptor> file, std::optional<crypto::Sha256Digest> checksum)
      : endpoints_(endpoints),
        upload_(std::move(upload)),
        lease_holder_(std::move(lease_holder)),
        lease_renewed_ms_(endpoints_.clock_()),
        caller_(std::move(caller)),
        file_(std::move(file)),
        checksum_(checksum) {}

  ~UploadSink() override { release(); }

  // The upload is released before any answer leaves, so that the device's
  // next PATCH never finds it still busy.
  std::optional<Response> write(std::string_view piece) override {
    if (piece.size() > upload_.length - upload_.offset - received_) {
      discard();
      release();
      return tus_error(413, "upload_too_large", "the body goes past Upload-Length; nothing was appended");
    }
    if (Status written = write_all(*file_, piece); !written.ok()) {
      discard();
      release();
      return failure(written.error());
    }
    if (checksum_) hash_.update(crypto::as_bytes(piece));
    received_ += piece.size();
    return renew_lease();
  }

  Response finish() override {
    Response answer = finish_body();
    release();
    return answer;
  }

  void abort() override {
    if (released_) return;  // answered already (a lost lease): the file is not ours
    // tus core keeps what arrived; with a checksum nothing can be trusted.
    if (checksum_) {
      discard();
    } else {
      (void)keep();  // a failure leaves the old offset: the bytes are re-sent
    }
    release();
  }

 private:
  Response finish_body() {
    if (checksum_) {
      const crypto::Sha256Digest digest = hash_.finish();
      if (!crypto::constant_time_equal(digest, *checksum_)) {
        discard();
        return tus_error(kChecksumMismatch, "checksum_mismatch",
                         "the chunk does not match its Upload-Checksum; it was discarded");
      }
    }
    auto kept = keep();
    if (!kept.ok()) return failure(kept.error());
    if (*kept < upload_.length) {
      UploadRow updated = upload_;
      updated.expires_at_ms = endpoints_.expiry_from_now();
      return upload_state(204, updated, *kept);
    }
    file_.reset();
    return endpoints_.finish_upload(upload_, *kept, caller_);
  }

  void release() {
    if (released_) return;
    released_ = true;
    file_.reset();
    endpoints_.unlock_upload(upload_.upload_id, lease_holder_);
  }

  // Keeps the lease while the body arrives. A lease lost (this PATCH stalled
  // past it and another request took the upload) ends this PATCH without
  // touching the file, which is the other request's now.
  std::optional<Response> renew_lease() {
    const std::int64_t now = endpoints_.clock_();
    const auto lease_ms = static_cast<std::int64_t>(endpoints_.options_.upload_lease.count()) * 1000;
    if (now - lease_renewed_ms_ < lease_ms / 3) return std::nullopt;
    auto renewed = endpoints_.uploads_.take_lease(upload_.upload_id, lease_holder_, now, now + lease_ms);
    if (renewed.ok() && *renewed) {
      lease_renewed_ms_ = now;
      return std::nullopt;
    }
    file_.reset();
    released_ = true;
    if (!renewed.ok()) return failure(renewed.error());
    return tus_error(409, "upload_busy", "the upload's lease passed to another request; nothing was kept");
  }

  // Makes the received bytes durable, then records the new offset.
  Result<std::uint64_t> keep() {
    const std::uint64_t offset = upload_.offset + received_;
    if (received_ == 0) return offset;
    CASEFILE_RETURN_IF_ERROR(sync_file(*file_));
    CASEFILE_RETURN_IF_ERROR(
        endpoints_.uploads_.set_offset(upload_.upload_id, offset, endpoints_.expiry_from_now()));
    endpoints_.uploaded_bytes_.increment(received_);
    return offset;
  }

  void discard() {
    (void)endpoints_.files_.truncate_upload(*file_, upload_.offset);
    received_ = 0;
  }

  AttachmentEndpoints& endpoints_;
  const UploadRow upload_;
  const std::string lease_holder_;
  std::int64_t lease_renewed_ms_;
  const DeviceContext caller_;
  std::unique_ptr<FileDescriptor> file_;
  const std::optional<crypto::Sha256Digest> checksum_;
  crypto::Sha256 hash_;
  std::uint64_t received_ = 0;
  bool released_ = false;
};

AttachmentEndpoints::AttachmentEndpoints(sync::ServerStore& records, UploadStore& uploads,
                                         AttachmentFiles files, const RequestAuthenticator& authenticator,
                                         AttachmentAudit audit, MetricsRegistry& metrics,
                                         AttachmentOptions options, AttachmentClock clock)
    : records_(records),
      uploads_(uploads),
      files_(std::move(files)),
      authenticator_(authenticator),
      audit_(std::move(audit)),
      options_(options),
      clock_(std::move(clock)),
      uploaded_bytes_(metrics.counter("casefile_attachment_uploaded_bytes_total",
                                      "Attachment bytes made durable by PATCH requests.")),
      downloaded_bytes_(metrics.counter("casefile_attachment_downloaded_bytes_total",
                                        "Attachment bytes answered to GET requests.")),
      uploads_completed_(metrics.counter("casefile_attachment_uploads_total", "Uploads ended, by outcome.",
                                         {{"outcome", "completed"}})),
      uploads_failed_(metrics.counter("casefile_attachment_uploads_total", "", {{"outcome", "failed"}})),
      uploads_terminated_(
          metrics.counter("casefile_attachment_uploads_total", "", {{"outcome", "terminated"}})) {}

std::int64_t AttachmentEndpoints::expiry_from_now() const {
  return clock_() + static_cast<std::int64_t>(options_.upload_expiry.count()) * 1000;
}

std::int64_t AttachmentEndpoints::lease_from_now() const {
  return clock_() + static_cast<std::int64_t>(options_.upload_lease.count()) * 1000;
}

Result<std::optional<std::string>> AttachmentEndpoints::lock_upload(const std::string& upload_id) {
  auto holder = random_upload_id();
  if (!holder.ok()) return std::move(holder).error();
  auto taken = uploads_.take_lease(upload_id, *holder, clock_(), lease_from_now());
  if (!taken.ok()) return std::move(taken).error();
  if (!*taken) return std::optional<std::string>();
  return std::optional<std::string>(std::move(holder).value());
}

void AttachmentEndpoints::unlock_upload(const std::string& upload_id, const std::string& holder) {
  // A lease not ended (the store failed) frees itself when its time passes.
  (void)uploads_.end_lease(upload_id, holder);
}

Response AttachmentEndpoints::options(const Request&) const {
  Response response = with_tus(no_content());
  response.headers.emplace_back("Tus-Version", std::string(kTusVersion));
  response.headers.emplace_back("Tus-Extension", "creation,checksum,termination,expiration");
  response.headers.emplace_back("Tus-Max-Size", std::to_string(options_.max_size_bytes));
  response.headers.emplace_back("Tus-Checksum-Algorithm", "sha256");
  return response;
}

Response AttachmentEndpoints::create(const Request& request) {
  if (auto refusal = refused_version(request)) return *refusal;
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return with_tus(authenticator_.refusal_response(request, caller.error()));
  if (!request.header("Upload-Defer-Length").empty() || !request.header("Upload-Concat").empty()) {
    return tus_error(400, "invalid_header", "Upload-Defer-Length and Upload-Concat are not supported");
  }
  auto length = parse_byte_count(request.header("Upload-Length"), "Upload-Length");
  if (!length.ok()) return tus_error(400, length.error());
  auto metadata = parse_upload_metadata(request.header("Upload-Metadata"));
  if (!metadata.ok()) return tus_error(400, metadata.error());
  const auto case_text = metadata->find("case_id");
  const auto record_text = metadata->find("record_id");
  const auto case_id =
      case_text == metadata->end() ? std::nullopt : canonical_id<sync::CaseId>(case_text->second);
  const auto record_id =
      record_text == metadata->end() ? std::nullopt : canonical_id<sync::RecordId>(record_text->second);
  if (!case_id || !record_id) {
    return tus_error(400, "invalid_upload_metadata",
                     "Upload-Metadata must carry case_id and record_id as lower-case UUID text");
  }
  if (!caller->member_cases.contains(*case_id)) {
    return tus_error(403, "case_not_member", "this device's user is not a member of the case");
  }
  auto record = load_attachment_record(records_, *case_id, *record_id);
  if (!record.ok()) {
    if (record.error().code == "attachment_record_unknown") return tus_error(409, record.error());
    return failure(record.error());
  }
  if (*length != record->size_bytes) {
    return tus_error(409, "upload_length_mismatch", "Upload-Length differs from the record's size_bytes");
  }
  if (*length > options_.max_size_bytes) {
    return tus_error(413, "upload_too_large",
                     "attachments are limited to " + std::to_string(options_.max_size_bytes) + " bytes");
  }
  auto stored = uploads_.find_stored(*case_id, *record_id);
  if (!stored.ok()) return failure(stored.error());
  if (*stored) return tus_error(409, "attachment_already_stored", "the record's content is already stored");
  auto upload_id = random_upload_id();
  if (!upload_id.ok()) return failure(upload_id.error());
  UploadRow upload;
  upload.upload_id = *upload_id;
  upload.device = caller->device;
  upload.case_id = *case_id;
  upload.record_id = *record_id;
  upload.length = *length;
  upload.expires_at_ms = expiry_from_now();
  auto created = uploads_.create_or_find(upload, options_.device_quota_bytes);
  if (!created.ok()) {
    if (created.error().code == "upload_quota_exceeded") return tus_error(403, created.error());
    return failure(created.error());
  }
  Response response = upload_state(201, *created, created->offset);
  response.headers.emplace_back("Location", "/v1/uploads/" + created->upload_id);
  return response;
}

Result<UploadRow> AttachmentEndpoints::owned_upload(const Request& request,
                                                    const DeviceContext& caller) const {
  const auto parameter = request.path_parameters.find("upload_id");
  const std::string upload_id =
      parameter == request.path_parameters.end() ? std::string() : parameter->second;
  const auto not_found = [] { return make_error("upload_not_found", "no such upload"); };
  if (!is_upload_id(upload_id)) return not_found();
  auto upload = uploads_.find(upload_id);
  if (!upload.ok()) return std::move(upload).error();
  // Another device's upload is as absent as one that never was.
  if (!*upload || (*upload)->device != caller.device) return not_found();
  if ((*upload)->expires_at_ms <= clock_()) return make_error("upload_expired", "the upload expired");
  return **upload;
}

namespace {

Response offset_mismatch(std::uint64_t offset) {
  Response response = tus_error(409, "upload_offset_mismatch",
                                "Upload-Offset differs from the upload's offset; ask with HEAD");
  response.headers.emplace_back("Upload-Offset", std::to_string(offset));
  return response;
}

Response upload_refusal(const Error& error) {
  if (error.code == "upload_not_found") return tus_error(404, error);
  if (error.code == "upload_expired") return tus_error(410, error);
  return failure(error);
}

}  // namespace

Response AttachmentEndpoints::head(const Request& request) {
  if (auto refusal = refused_version(request)) return *refusal;
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return with_tus(authenticator_.refusal_response(request, caller.error()));
  auto upload = owned_upload(request, *caller);
  if (!upload.ok()) return upload_refusal(upload.error());
  Response response = upload_state(200, *upload, upload->offset);
  response.headers.emplace_back("Upload-Length", std::to_string(upload->length));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

BodyStart AttachmentEndpoints::patch(const Request& request) {
  if (auto refusal = refused_version(request)) return *refusal;
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return with_tus(authenticator_.refusal_response(request, caller.error()));
  auto upload = owned_upload(request, *caller);
  if (!upload.ok()) return upload_refusal(upload.error());
  if (request.media_type() != kOffsetMediaType) {
    return tus_error(415, "unsupported_media_type", "a PATCH body must be application/offset+octet-stream");
  }
  auto offset = parse_byte_count(request.header("Upload-Offset"), "Upload-Offset");
  if (!offset.ok()) return tus_error(400, offset.error());
  if (*offset != upload->offset) return offset_mismatch(upload->offset);
  std::optional<crypto::Sha256Digest> checksum;
  if (const std::string_view text = request.header("Upload-Checksum"); !text.empty()) {
    auto parsed = parse_upload_checksum(text);
    if (!parsed.ok()) return tus_error(400, parsed.error());
    checksum = *parsed;
  }
  if (const std::string_view declared = request.header("Content-Length"); !declared.empty()) {
    auto length = parse_byte_count(declared, "Content-Length");
    if (length.ok() && *length > upload->length - upload->offset) {
      return tus_error(413, "upload_too_large", "the body goes past Upload-Length; nothing was appended");
    }
  }
  auto lease = lock_upload(upload->upload_id);
  if (!lease.ok()) return upload_refusal(lease.error());  // removed meanwhile: 404
  if (!*lease) return tus_error(409, "upload_busy", "another PATCH of this upload is in progress");
  const std::string holder = **lease;
  // The row as it is under the lease: another instance may have moved it on.
  auto leased = uploads_.find(upload->upload_id);
  if (!leased.ok() || !*leased || (*leased)->offset != upload->offset) {
    unlock_upload(upload->upload_id, holder);
    if (!leased.ok()) return failure(leased.error());
    if (!*leased) return tus_error(404, "upload_not_found", "no such upload");
    return offset_mismatch((*leased)->offset);
  }
  if (upload->offset == upload->length && upload->length > 0) {
    // Every byte is in but the finish failed (a retry after 503): finish now.
    Response answer = finish_upload(*upload, upload->length, *caller);
    unlock_upload(upload->upload_id, holder);
    return answer;
  }
  auto file = files_.open_upload_at(upload->upload_id, upload->offset);
  if (!file.ok()) {
    if (file.error().code == "upload_file_lost") {
      // Bytes the store counts are gone: the device starts again with POST.
      files_.remove_upload(upload->upload_id);
      (void)uploads_.remove(upload->upload_id);
      uploads_failed_.increment();
      return tus_error(404, "upload_not_found", "the upload's content was lost; create it again");
    }
    unlock_upload(upload->upload_id, holder);
    return failure(file.error());
  }
  return std::make_unique<UploadSink>(*this, std::move(upload).value(), holder, std::move(caller).value(),
                                      std::move(file).value(), checksum);
}

Response AttachmentEndpoints::finish_upload(const UploadRow& upload, std::uint64_t new_offset,
                                            const DeviceContext& caller) {
  const auto discard = [&](Response answer) {
    files_.remove_upload(upload.upload_id);
    (void)uploads_.remove(upload.upload_id);
    uploads_failed_.increment();
    return answer;
  };
  auto record = load_attachment_record(records_, upload.case_id, upload.record_id);
  if (!record.ok()) {
    if (record.error().code == "attachment_record_unknown") return discard(tus_error(409, record.error()));
    return failure(record.error());
  }
  // The file was already moved when an earlier finish failed after its
  // rename (the store was unavailable): hash it where it is now.
  std::error_code ignored;
  const bool moved = !std::filesystem::exists(files_.upload_path(upload.upload_id), ignored) &&
                     std::filesystem::exists(files_.blob_path(upload.case_id, upload.record_id), ignored);
  auto digest = sha256_of_file(moved ? files_.blob_path(upload.case_id, upload.record_id)
                                     : files_.upload_path(upload.upload_id));
  if (!digest.ok()) return failure(digest.error());
  const std::string digest_hex = crypto::to_hex(*digest);
  if (record->size_bytes != new_offset ||
      !crypto::constant_time_equal(crypto::as_bytes(digest_hex),
                                   crypto::as_bytes(record->ciphertext_sha256))) {
    return discard(tus_error(kChecksumMismatch, "attachment_checksum_mismatch",
                             "the uploaded content does not match the record's ciphertext_sha256; it was "
                             "discarded"));
  }
  // Two devices may finish the same record at once: both hold the bytes the
  // digest names, so the second rename replaces the file with equal bytes.
  if (!moved) {
    if (Status promoted = files_.promote(upload.upload_id, upload.case_id, upload.record_id);
        !promoted.ok()) {
      return failure(promoted.error());
    }
  }
  const std::int64_t now = clock_();
  StoredAttachment stored{upload.case_id, upload.record_id, new_offset, digest_hex, upload.device, now};
  Status completed = uploads_.complete(upload.upload_id, stored);
  if (!completed.ok() && completed.error().code != "attachment_already_stored")
    return failure(completed.error());
  uploads_completed_.increment();
  if (audit_) {
    Status audited = audit_(AuditEvent{now,
                                       device_actor(caller.device),
                                       "attachment_stored",
                                       "case:" + sync::to_text(upload.case_id),
                                       {{"record", sync::to_text(upload.record_id)},
                                        {"upload", upload.upload_id},
                                        {"size_bytes", new_offset},
                                        {"ciphertext_sha256", digest_hex}}});
    if (!audited.ok()) {
      return tus_error(
          500, "audit_unavailable",
          "the attachment is stored but the audit log could not be written (" + audited.error().code + ")");
    }
  }
  UploadRow finished = upload;
  finished.expires_at_ms = expiry_from_now();
  return upload_state(204, finished, new_offset);
}

Response AttachmentEndpoints::terminate(const Request& request) {
  if (auto refusal = refused_version(request)) return *refusal;
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return with_tus(authenticator_.refusal_response(request, caller.error()));
  auto upload = owned_upload(request, *caller);
  if (!upload.ok() && upload.error().code != "upload_expired") return upload_refusal(upload.error());
  if (!upload.ok()) {  // expired: terminating it is what the sweep would do
    const auto parameter = request.path_parameters.find("upload_id");
    auto found = uploads_.find(parameter->second);
    if (!found.ok()) return failure(found.error());
    if (!*found) return tus_error(404, "upload_not_found", "no such upload");
    upload = **found;
  }
  auto lease = lock_upload(upload->upload_id);
  if (!lease.ok()) return upload_refusal(lease.error());  // removed meanwhile: 404
  if (!*lease) return tus_error(409, "upload_busy", "a PATCH of this upload is in progress");
  files_.remove_upload(upload->upload_id);
  Status removed = uploads_.remove(upload->upload_id);  // the lease goes with the row
  if (!removed.ok()) {
    unlock_upload(upload->upload_id, **lease);
    return failure(removed.error());
  }
  uploads_terminated_.increment();
  if (audit_) {
    Status audited = audit_(AuditEvent{clock_(),
                                       device_actor(caller->device),
                                       "attachment_upload_terminated",
                                       "case:" + sync::to_text(upload->case_id),
                                       {{"record", sync::to_text(upload->record_id)},
                                        {"upload", upload->upload_id},
                                        {"offset", upload->offset}}});
    if (!audited.ok()) {
      return tus_error(
          500, "audit_unavailable",
          "the upload is terminated but the audit log could not be written (" + audited.error().code + ")");
    }
  }
  return with_tus(no_content());
}

Response AttachmentEndpoints::download(const Request& request) {
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return authenticator_.refusal_response(request, caller.error());
  const auto case_id = canonical_id<sync::CaseId>(request.path_parameters.at("case_id"));
  const auto record_id = canonical_id<sync::RecordId>(request.path_parameters.at("record_id"));
  if (!case_id || !record_id) {
    return error_response(400, "invalid_id", "case and record ids are lower-case UUID text");
  }
  if (!caller->member_cases.contains(*case_id)) {
    return error_response(403, "case_not_member", "this device's user is not a member of the case");
  }
  auto stored = uploads_.find_stored(*case_id, *record_id);
  if (!stored.ok()) return failure(stored.error());
  if (!*stored) return error_response(404, "attachment_not_found", "no content is stored for that record");
  const std::uint64_t size = (*stored)->size;
  RangeRequest range;
  if (const std::string_view text = request.header("Range"); !text.empty()) {
    auto parsed = parse_range(text, size);
    if (!parsed.ok()) return error_response(400, parsed.error().code, parsed.error().message);
    range = *parsed;
  }
  if (range.kind == RangeKind::unsatisfiable) {
    Response response = error_response(416, "range_not_satisfiable", "the range starts past the content");
    response.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    return response;
  }
  Response response;
  response.content_type = "application/octet-stream";
  response.headers.emplace_back("Accept-Ranges", "bytes");
  response.headers.emplace_back("ETag", "\"" + (*stored)->sha256 + "\"");
  FileRange file{files_.blob_path(*case_id, *record_id), 0, size};
  if (range.kind == RangeKind::partial) {
    response.status = 206;
    file.offset = range.range.first;
    file.length = range.range.length;
    response.headers.emplace_back("Content-Range",
                                  "bytes " + std::to_string(range.range.first) + "-" +
                                      std::to_string(range.range.first + range.range.length - 1) + "/" +
                                      std::to_string(size));
  }
  downloaded_bytes_.increment(file.length);
  response.file = std::move(file);
  return response;
}

Result<std::size_t> AttachmentEndpoints::sweep_expired() {
  auto expired = uploads_.expired(clock_());
  if (!expired.ok()) return std::move(expired).error();
  std::size_t removed = 0;
  for (const UploadRow& upload : *expired) {
    auto lease = lock_upload(upload.upload_id);
    if (!lease.ok() && lease.error().code == "upload_not_found") continue;  // gone meanwhile
    if (!lease.ok()) return std::move(lease).error();
    if (!*lease) continue;  // a PATCH renews it
    files_.remove_upload(upload.upload_id);
    Status gone = uploads_.remove(upload.upload_id);  // the lease goes with the row
    if (!gone.ok()) unlock_upload(upload.upload_id, **lease);
    CASEFILE_RETURN_IF_ERROR(gone);
    uploads_failed_.increment();
    ++removed;
  }
  return removed;
}

Status register_attachment_routes(Router& router, AttachmentEndpoints& endpoints) {
  RouteOptions blocking;
  blocking.execution = RouteExecution::blocking_pool;
  CASEFILE_RETURN_IF_ERROR(router.add(
      "OPTIONS", "/v1/uploads", [&endpoints](const Request& request) { return endpoints.options(request); }));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "POST", "/v1/uploads", [&endpoints](const Request& request) { return endpoints.create(request); },
      blocking));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "HEAD", "/v1/uploads/{upload_id}",
      [&endpoints](const Request& request) { return endpoints.head(request); }, blocking));
  CASEFILE_RETURN_IF_ERROR(
      router.add_streaming("PATCH", "/v1/uploads/{upload_id}",
                           [&endpoints](const Request& request) { return endpoints.patch(request); }));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "DELETE", "/v1/uploads/{upload_id}",
      [&endpoints](const Request& request) { return endpoints.terminate(request); }, blocking));
  return router.add(
      "GET", "/v1/cases/{case_id}/attachments/{record_id}",
      [&endpoints](const Request& request) { return endpoints.download(request); }, blocking);
}

}  // namespace casefile::server
