#include "server/store/server_schema_migrations.hpp"

#include <vector>

namespace casefile::server {
namespace {

// Ids (devices, cases, records, batches) are their 16 raw bytes. Unsigned
// 64-bit numbers are stored as the signed integer with the same bits.
constexpr const char* kCreateSyncTables = R"sql(
CREATE TABLE batches (
  author BLOB NOT NULL,
  batch_id BLOB NOT NULL,
  tree_size INTEGER NOT NULL,
  root BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (author, batch_id)
) WITHOUT ROWID;

CREATE TABLE change_log (
  sequence INTEGER PRIMARY KEY,
  device BLOB NOT NULL,
  device_sequence INTEGER NOT NULL,
  case_id BLOB NOT NULL,
  change_bytes BLOB NOT NULL,
  leaf_hash BLOB NOT NULL,
  batch_id BLOB NOT NULL,
  leaf_index INTEGER NOT NULL,
  tree_size INTEGER NOT NULL,
  proof_path BLOB NOT NULL,
  UNIQUE (device, device_sequence)
);
CREATE INDEX change_log_by_case ON change_log (case_id, sequence);

CREATE TABLE records (
  case_id BLOB NOT NULL,
  collection TEXT NOT NULL,
  record_id BLOB NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  state BLOB NOT NULL,
  PRIMARY KEY (case_id, collection, record_id)
) WITHOUT ROWID;
)sql";

// records as a rowid table with a unique index on its key, and without a
// second copy of what the log already holds.
// - In a WITHOUT ROWID table the whole row is the B-tree key, so interior
//   pages hold whole rows (about 850 bytes with a sealed value: four a page)
//   and every insert splits and rebalances a deep tree of big cells. As a
//   rowid table, rows are appended and only the key goes into the index.
// - A record created by one change and not written since has exactly the
//   state of that change applied to an empty record, and the change is in
//   the log. Such a row keeps the change's sequence (created_by) instead of
//   the state, which would repeat every sealed value of the change; the
//   first update stores the full state and clears created_by.
constexpr const char* kRecordsAsRowidTable = R"sql(
CREATE TABLE records_by_rowid (
  case_id BLOB NOT NULL,
  collection TEXT NOT NULL,
  record_id BLOB NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  state BLOB,
  created_by INTEGER,
  CHECK ((state IS NULL) = (created_by IS NOT NULL))
);
INSERT INTO records_by_rowid (case_id, collection, record_id, version, state, created_by)
  SELECT case_id, collection, record_id, version, state, NULL FROM records;
DROP TABLE records;
ALTER TABLE records_by_rowid RENAME TO records;
CREATE UNIQUE INDEX records_by_key ON records (case_id, collection, record_id);
)sql";

// The instance epoch (server/store/instance_epoch.hpp): random at creation,
// replaced by every restore. SQLite's randomblob draws from the OS here; the
// epoch is an identity, not a secret.
constexpr const char* kInstanceIdentity = R"sql(
CREATE TABLE instance_identity (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  epoch BLOB NOT NULL CHECK (length(epoch) = 16)
);
INSERT INTO instance_identity (singleton, epoch) VALUES (1, randomblob(16));
)sql";

// tus uploads and stored attachment contents (docs/protocol.md,
// "Attachments"). The bytes are files under the instance's attachments/;
// these rows say whose they are and how many are durable. An upload id is
// random text, never derived from the record.
constexpr const char* kAttachments = R"sql(
CREATE TABLE attachment_uploads (
  upload_id TEXT PRIMARY KEY CHECK (length(upload_id) = 32),
  device BLOB NOT NULL,
  case_id BLOB NOT NULL,
  record_id BLOB NOT NULL,
  length INTEGER NOT NULL CHECK (length >= 0),
  upload_offset INTEGER NOT NULL CHECK (upload_offset >= 0 AND upload_offset <= length),
  expires_at INTEGER NOT NULL,
  UNIQUE (device, case_id, record_id)
);
CREATE INDEX attachment_uploads_by_expiry ON attachment_uploads (expires_at);

CREATE TABLE attachment_blobs (
  case_id BLOB NOT NULL,
  record_id BLOB NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  device BLOB NOT NULL,
  stored_at INTEGER NOT NULL,
  PRIMARY KEY (case_id, record_id)
) WITHOUT ROWID;
CREATE INDEX attachment_blobs_by_device ON attachment_blobs (device);
)sql";

// The upload lease (UploadStore::take_lease): which request works on an
// upload now, and until when, shared by every casefiled on this database.
constexpr const char* kUploadLeases = R"sql(
ALTER TABLE attachment_uploads ADD COLUMN lease_holder TEXT;
ALTER TABLE attachment_uploads ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
)sql";

const std::vector<schema::Migration>& migrations() {
  static const std::vector<schema::Migration> list = {
      {1, "create batches, change_log and records", kCreateSyncTables, {}},
      {2,
       "records: a rowid table with a key index, created_by for once-written records",
       kRecordsAsRowidTable,
       {}},
      {3, "instance_identity: the instance epoch that a restore renews", kInstanceIdentity, {}},
      {4,
       "attachment_uploads and attachment_blobs: tus uploads and stored attachment contents",
       kAttachments,
       {}},
      {5,
       "attachment_uploads: the upload lease (holder and expiry), instead of one instance's memory",
       kUploadLeases,
       {}},
  };
  return list;
}

}  // namespace

std::span<const schema::Migration> server_schema_migrations() { return migrations(); }

}  // namespace casefile::server
