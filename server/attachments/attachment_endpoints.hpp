// The attachment endpoints of casefiled (docs/protocol.md, "Attachments"):
// tus 1.0.0 uploads (creation, checksum, termination, expiration) of an
// attachments record's ciphertext, and its download with one byte range.
//
//   OPTIONS /v1/uploads                 what this server supports (no auth)
//   POST    /v1/uploads                 create (or find again) an upload
//   HEAD    /v1/uploads/{upload_id}     its durable offset
//   PATCH   /v1/uploads/{upload_id}     append a chunk (body streams to disk)
//   DELETE  /v1/uploads/{upload_id}     terminate
//   GET     /v1/cases/{case_id}/attachments/{record_id}   the stored ciphertext
//
// Every route authenticates the device on every request (a revoked device is
// refused at once). Upload state is in the UploadStore and bytes in
// AttachmentFiles; nothing is held only in this instance's memory: a PATCH,
// DELETE or sweep works on an upload under its lease in the store, so a
// second one, from any casefiled sharing the store, is refused 409
// upload_busy. The server never sees plaintext: it checks sizes and SHA-256
// digests of ciphertext against the record's clear fields.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/result.hpp"
#include "server/access/control_store.hpp"
#include "server/access/device_context.hpp"
#include "server/attachments/attachment_files.hpp"
#include "server/attachments/upload_store.hpp"
#include "server/http_message.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"
#include "sync/store.hpp"

namespace casefile::server {

inline constexpr std::string_view kTusVersion = "1.0.0";
inline constexpr std::string_view kAttachmentsCollection = "attachments";

struct AttachmentOptions {
  std::uint64_t max_size_bytes = std::uint64_t{2} * 1024 * 1024 * 1024;       // Tus-Max-Size
  std::uint64_t device_quota_bytes = std::uint64_t{20} * 1024 * 1024 * 1024;  // unfinished + stored
  std::chrono::seconds upload_expiry{259200};                                 // after the last PATCH (3 days)
  // How long an upload's lease lasts without renewal: a PATCH renews it as
  // its body arrives (at a third of this), so it must exceed the body-read
  // timeout; an instance that dies holding one blocks the upload this long.
  std::chrono::seconds upload_lease{300};
};

// Appends one audit entry (ControlStore::append_audit in casefiled).
using AttachmentAudit = std::function<Status(const AuditEvent&)>;
// Milliseconds since the Unix epoch.
using AttachmentClock = std::function<std::int64_t()>;

class AttachmentEndpoints {
 public:
  // REQUIRES: every reference outlives this object, and files.prepare() succeeded.
  AttachmentEndpoints(sync::ServerStore& records, UploadStore& uploads, AttachmentFiles files,
                      const RequestAuthenticator& authenticator, AttachmentAudit audit,
                      MetricsRegistry& metrics, AttachmentOptions options, AttachmentClock clock);

  Response options(const Request& request) const;
  Response create(const Request& request);
  Response head(const Request& request);
  BodyStart patch(const Request& request);
  Response terminate(const Request& request);
  Response download(const Request& request);

  // Removes uploads that expired (rows and files), except one a PATCH is
  // writing now. Returns how many. Errors: the store's.
  Result<std::size_t> sweep_expired();

 private:
  class UploadSink;
  friend class UploadSink;

  struct Caller;
  Result<UploadRow> owned_upload(const Request& request, const DeviceContext& caller) const;
  // The holder token of the upload's lease, now taken; nullopt when another
  // request holds it. Errors: the store's.
  Result<std::optional<std::string>> lock_upload(const std::string& upload_id);
  void unlock_upload(const std::string& upload_id, const std::string& holder);
  std::int64_t lease_from_now() const;
  Response finish_upload(const UploadRow& upload, std::uint64_t new_offset, const DeviceContext& caller);
  std::int64_t expiry_from_now() const;

  sync::ServerStore& records_;
  UploadStore& uploads_;
  const AttachmentFiles files_;
  const RequestAuthenticator& authenticator_;
  AttachmentAudit audit_;
  const AttachmentOptions options_;
  AttachmentClock clock_;
  Counter& uploaded_bytes_;
  Counter& downloaded_bytes_;
  Counter& uploads_completed_;
  Counter& uploads_failed_;
  Counter& uploads_terminated_;
};

// Registers the routes above (the PATCH as a streaming route, the rest on
// the blocking pool but OPTIONS). REQUIRES: `endpoints` outlives the router.
Status register_attachment_routes(Router& router, AttachmentEndpoints& endpoints);

}  // namespace casefile::server
