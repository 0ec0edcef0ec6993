// The attachment outbox table (replica migration "create attachment_outbox",
// docs/device.md "Attachments"): SQL over the replica's connection. Errors:
// "store_unavailable" (message starting with the storage layer's code).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "device/attachments.hpp"
#include "schema/database.hpp"
#include "sync/ids.hpp"

namespace casefile::device::internal {

// A new pending row (no upload yet, offset 0).
Status enqueue_attachment(schema::Database& database, const sync::CaseId& case_id,
                          const sync::RecordId& record_id, std::uint64_t size_bytes);

// Rows in the order added; only `case_id`'s when given. The collection of
// each returned key is "attachments".
Result<std::vector<AttachmentStatus>> read_attachment_outbox(schema::Database& database,
                                                             std::optional<sync::CaseId> case_id);

// The tus upload's Location (nullopt: forget it) and acknowledged offset.
Status store_upload_position(schema::Database& database, const sync::RecordId& record_id,
                             const std::optional<std::string>& upload_url, std::uint64_t offset);
// state -> uploaded, offset = size, error cleared.
Status mark_attachment_uploaded(schema::Database& database, const sync::RecordId& record_id);
// attempts + 1 and the error; the state stays pending.
Status record_attachment_failure(schema::Database& database, const sync::RecordId& record_id,
                                 const Error& failure);
// state -> quarantined with the server's reason; the upload is forgotten.
Status quarantine_attachment(schema::Database& database, const sync::RecordId& record_id,
                             const Error& reason);

}  // namespace casefile::device::internal
