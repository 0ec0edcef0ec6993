#include "device/internal/replica_migrations.hpp"

#include <vector>

namespace casefile::device::internal {
namespace {

// Version 1: meta, records, outbox, quarantine.
//
// 64-bit unsigned values (HLC, next sequence) are stored as the signed
// integer with the same bits; only the outbox sequence is compared in SQL, and
// it is kept within 1..2^63-1 by the store and by the CHECK below.
// Every table that holds a case's data carries case_id at the front of an
// index, so purging a case is one indexed DELETE per table.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE replica_meta (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  pull_cursor TEXT NOT NULL,
  next_sequence INTEGER NOT NULL,
  clock_last INTEGER NOT NULL,
  clock_offset_millis INTEGER NOT NULL
);
INSERT INTO replica_meta (singleton, pull_cursor, next_sequence, clock_last, clock_offset_millis)
  VALUES (1, '', 1, 0, 0);

CREATE TABLE records (
  case_id BLOB NOT NULL CHECK (length(case_id) = 16),
  collection TEXT NOT NULL,
  record_id BLOB NOT NULL CHECK (length(record_id) = 16),
  state BLOB NOT NULL
);
CREATE UNIQUE INDEX records_by_key ON records (case_id, collection, record_id);

CREATE TABLE outbox (
  sequence INTEGER PRIMARY KEY CHECK (sequence > 0),
  case_id BLOB NOT NULL CHECK (length(case_id) = 16),
  change BLOB NOT NULL
);
CREATE INDEX outbox_by_case ON outbox (case_id);

CREATE TABLE quarantine (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id BLOB NOT NULL CHECK (length(case_id) = 16),
  change BLOB NOT NULL,
  reason_code TEXT NOT NULL,
  reason_message TEXT NOT NULL
);
CREATE INDEX quarantine_by_case ON quarantine (case_id);
)sql";

// Version 2: the device's own tables (device/device_profile_store.hpp).
// device_profile holds one row: the device's identity and private keys (the
// file is encrypted under the storage key), its enrolment, server, certificate,
// session and last sync. certificate_cache holds other devices' verified
// certificates; case_keys every case-key epoch this device can read.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE device_profile (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  device_id BLOB NOT NULL CHECK (length(device_id) = 16),
  signing_seed BLOB NOT NULL CHECK (length(signing_seed) = 32),
  wrapping_private_key BLOB NOT NULL CHECK (length(wrapping_private_key) = 32),
  enrolment_state TEXT NOT NULL,
  server_url TEXT,
  server_host TEXT,
  server_port INTEGER,
  server_pin BLOB,
  authority_fingerprint BLOB,
  authority_key BLOB,
  certificate BLOB,
  session_token TEXT,
  session_expires_at INTEGER,
  last_sync_ms INTEGER
);

CREATE TABLE certificate_cache (
  device_id BLOB PRIMARY KEY CHECK (length(device_id) = 16),
  certificate BLOB NOT NULL
);

CREATE TABLE case_keys (
  case_id BLOB NOT NULL CHECK (length(case_id) = 16),
  epoch INTEGER NOT NULL CHECK (epoch > 0 AND epoch <= 4294967295),
  key BLOB NOT NULL CHECK (length(key) = 32),
  PRIMARY KEY (case_id, epoch)
);
)sql";

// Version 3: case keyrings (issue #7, docs/device.md "Case keyrings").
// case_keyring_heads holds, per case, the newest keyring manifest this device
// accepted (stored form, sync/keyring_manifest.hpp): the next chain must pass
// through it, and new writes use its epoch. held_epochs_shared is 0 until the
// device has wrapped the earlier epochs it holds to the head's members that
// lack them (docs/device-sync.md). device_profile gains the organisation's
// recovery X25519 public key, stored once its authority statement verified.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE case_keyring_heads (
  case_id BLOB PRIMARY KEY CHECK (length(case_id) = 16),
  epoch INTEGER NOT NULL CHECK (epoch > 0 AND epoch <= 2147483647),
  manifest BLOB NOT NULL,
  held_epochs_shared INTEGER NOT NULL DEFAULT 0 CHECK (held_epochs_shared IN (0, 1))
);
ALTER TABLE device_profile ADD COLUMN recovery_public_key BLOB;
)sql";

// Version 4: the accepted TLS pin statement (device/tls_pins.hpp): its
// sequence (a lower one is refused), its text, and the announced next pin
// the HTTPS client also accepts. The pin itself stays in device_profile.
constexpr const char* kVersion4 = R"sql(
CREATE TABLE tls_pins (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  sequence INTEGER NOT NULL CHECK (sequence >= 0),
  statement TEXT NOT NULL,
  next_pin BLOB CHECK (next_pin IS NULL OR length(next_pin) = 32)
);
)sql";

// Version 5: the change archive and the instance epoch (device/change_archive.hpp,
// docs/device.md "Change archive"). archive_batches holds each signed batch
// header once; archive_changes the signed form of every change the device
// holds (its own once the server answered them, every one it pulled): the
// canonical encoding, its leaf index and inclusion path, in the order the
// device came to hold them (position), which is the order it relays them in.
// One row per change id, the first form kept. server_instance holds the
// epoch the device last synced with and, while it heals a restored server,
// the epoch it heals and how far through the archive it got.
constexpr const char* kVersion5 = R"sql(
CREATE TABLE archive_batches (
  batch_key INTEGER PRIMARY KEY,
  author BLOB NOT NULL CHECK (length(author) = 16),
  batch_id BLOB NOT NULL CHECK (length(batch_id) = 16),
  tree_size INTEGER NOT NULL CHECK (tree_size > 0),
  root BLOB NOT NULL CHECK (length(root) = 32),
  signature BLOB NOT NULL CHECK (length(signature) = 64)
);
CREATE UNIQUE INDEX archive_batches_by_id ON archive_batches (author, batch_id);

CREATE TABLE archive_changes (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id BLOB NOT NULL CHECK (length(case_id) = 16),
  author BLOB NOT NULL CHECK (length(author) = 16),
  sequence INTEGER NOT NULL CHECK (sequence > 0),
  batch_key INTEGER NOT NULL,
  leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),
  proof_path BLOB NOT NULL,
  change BLOB NOT NULL
);
CREATE UNIQUE INDEX archive_changes_by_id ON archive_changes (author, sequence);
CREATE INDEX archive_changes_by_case ON archive_changes (case_id);
CREATE INDEX archive_changes_by_batch ON archive_changes (batch_key);

CREATE TABLE server_instance (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  epoch TEXT,
  healing_epoch TEXT,
  healed_through INTEGER NOT NULL CHECK (healed_through >= 0)
);
INSERT INTO server_instance (singleton, epoch, healing_epoch, healed_through) VALUES (1, NULL, NULL, 0);
)sql";

// Version 6: the attachment outbox (issue #8, docs/device.md "Attachments"): one row an
// attachment this device added, in the order added. state is "pending" until
// the server holds the whole ciphertext ("uploaded"), or "quarantined" when
// the server refused it for good (reason in last_error_*). upload_url is the
// tus upload's Location once created; upload_offset the last offset the
// server acknowledged (stored after every PATCH, so a resumed upload asks
// HEAD and repeats at most one chunk). attempts counts failed tries.
constexpr const char* kVersion6 = R"sql(
CREATE TABLE attachment_outbox (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id BLOB NOT NULL CHECK (length(case_id) = 16),
  record_id BLOB NOT NULL UNIQUE CHECK (length(record_id) = 16),
  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'quarantined')),
  upload_url TEXT,
  upload_offset INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= size_bytes),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error_code TEXT,
  last_error_message TEXT
);
CREATE INDEX attachment_outbox_by_case ON attachment_outbox (case_id);
)sql";

}  // namespace

std::span<const schema::Migration> replica_migrations() {
  static const std::vector<schema::Migration> migrations = {
      {1, "create replica_meta, records, outbox and quarantine", kVersion1, nullptr},
      {2, "create device_profile, certificate_cache and case_keys", kVersion2, nullptr},
      {3, "create case_keyring_heads; add device_profile.recovery_public_key", kVersion3, nullptr},
      {4, "create tls_pins", kVersion4, nullptr},
      {5, "create archive_batches, archive_changes and server_instance", kVersion5, nullptr},
      {6, "create attachment_outbox", kVersion6, nullptr},
  };
  return migrations;
}

}  // namespace casefile::device::internal
