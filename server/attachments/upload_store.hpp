// UploadStore: where tus upload state and stored attachments are recorded
// (docs/server-store.md, migrations 4 and 5). Nothing about uploads lives only in
// memory, so several casefiled sharing one store (issue #10) agree on it.
// The bytes themselves are files (attachment_files.hpp); a row here says
// how many of them are durable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "sync/ids.hpp"

namespace casefile::server {

// An unfinished upload.
struct UploadRow {
  std::string upload_id;  // 32 lower-case hex, random
  sync::DeviceId device;  // the only device that may touch it
  sync::CaseId case_id;
  sync::RecordId record_id;
  std::uint64_t length = 0;  // Upload-Length: the record's size_bytes
  std::uint64_t offset = 0;  // bytes durably stored
  std::int64_t expires_at_ms = 0;
};

// An attachment whose content is stored (attachments/blobs/<case>/<record>).
struct StoredAttachment {
  sync::CaseId case_id;
  sync::RecordId record_id;
  std::uint64_t size = 0;
  std::string sha256;  // 64 lower-case hex: the ETag
  sync::DeviceId device;
  std::int64_t stored_at_ms = 0;
};

// Every method may fail with "store_unavailable" (the database failed).
class UploadStore {
 public:
  virtual ~UploadStore() = default;

  // Inserts `upload` unless the same device already has an unfinished upload
  // for that record: then answers that one, unchanged. Errors:
  // "upload_quota_exceeded" (a new upload would take the device's bytes,
  // unfinished and stored, past `device_quota_bytes`; checked in the same
  // transaction as the insert).
  virtual Result<UploadRow> create_or_find(const UploadRow& upload, std::uint64_t device_quota_bytes) = 0;
  virtual Result<std::optional<UploadRow>> find(const std::string& upload_id) = 0;
  // Errors: "upload_not_found" (gone meanwhile).
  virtual Status set_offset(const std::string& upload_id, std::uint64_t offset,
                            std::int64_t expires_at_ms) = 0;
  // Removes the row; absent is not an error.
  virtual Status remove(const std::string& upload_id) = 0;
  // Atomically removes the upload and records `stored`. Errors:
  // "attachment_already_stored" (another upload stored it first; the upload
  // row is removed all the same).
  virtual Status complete(const std::string& upload_id, const StoredAttachment& stored) = 0;
  virtual Result<std::optional<StoredAttachment>> find_stored(const sync::CaseId& case_id,
                                                              const sync::RecordId& record_id) = 0;
  // Bytes the device's unfinished uploads (their full lengths) and stored
  // attachments take: what its quota counts.
  virtual Result<std::uint64_t> device_bytes(const sync::DeviceId& device) = 0;
  // Unfinished uploads that expired at or before `now_ms`.
  virtual Result<std::vector<UploadRow>> expired(std::int64_t now_ms) = 0;

  // The upload lease: one PATCH, DELETE or sweep at a time works on an
  // upload, across every casefiled sharing this store (issue #10), so it is
  // a row here and never one instance's memory. A lease names its holder (a
  // random token of one request) and lasts until `until_ms`; a lease whose
  // time has passed is free, so the lease of an instance that died frees
  // itself. Contract for every implementation: take_lease is one atomic
  // compare-and-set (two stores over one database never both succeed).
  //
  // Takes the lease of `upload_id` for `holder` until `until_ms`, or renews
  // it when `holder` has it, unless another holder's lease is live at
  // `now_ms` (then false, nothing changed). Errors: "upload_not_found".
  virtual Result<bool> take_lease(const std::string& upload_id, const std::string& holder,
                                  std::int64_t now_ms, std::int64_t until_ms) = 0;
  // Ends `holder`'s lease of `upload_id`. Another holder's lease, none, or no
  // such upload is not an error (nothing changes).
  virtual Status end_lease(const std::string& upload_id, const std::string& holder) = 0;
};

}  // namespace casefile::server
