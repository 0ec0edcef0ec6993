#include "server/store/postgres_schema_migrations.hpp"

#include <stdexcept>
#include <vector>

#include "crypto/random.hpp"
#include "server/store/instance_epoch.hpp"

namespace casefile::server {
namespace {

// Serialises migrations between casefiled instances starting at once; the
// value is "Casefile" in ASCII. Advisory locks are per database.
constexpr std::int64_t kMigrationLock = 0x4361736566696c65;

// The same tables as the SQLCipher store at its version 3 (docs/server-store.md),
// in PostgreSQL types: ids are 16-byte bytea, unsigned 64-bit numbers the
// bigint with the same bits. log_head is the one row every commit locks and
// advances (docs/scale.md, "Sequence numbers with several writers").
constexpr const char* kCreateSyncTables = R"sql(
CREATE TABLE batches (
  author bytea NOT NULL,
  batch_id bytea NOT NULL,
  tree_size bigint NOT NULL,
  root bytea NOT NULL,
  signature bytea NOT NULL,
  PRIMARY KEY (author, batch_id)
);
CREATE TABLE change_log (
  sequence bigint PRIMARY KEY CHECK (sequence >= 1),
  device bytea NOT NULL,
  device_sequence bigint NOT NULL,
  case_id bytea NOT NULL,
  change_bytes bytea NOT NULL,
  leaf_hash bytea NOT NULL,
  batch_id bytea NOT NULL,
  leaf_index bigint NOT NULL,
  tree_size bigint NOT NULL,
  proof_path bytea NOT NULL,
  UNIQUE (device, device_sequence)
);
CREATE INDEX change_log_by_case ON change_log (case_id, sequence);
CREATE TABLE records (
  case_id bytea NOT NULL,
  collection text NOT NULL,
  record_id bytea NOT NULL,
  version bigint NOT NULL CHECK (version >= 1),
  state bytea,
  created_by bigint,
  CHECK ((state IS NULL) = (created_by IS NOT NULL)),
  PRIMARY KEY (case_id, collection, record_id)
);
CREATE TABLE log_head (
  singleton integer PRIMARY KEY CHECK (singleton = 1),
  last_sequence bigint NOT NULL CHECK (last_sequence >= 0)
);
INSERT INTO log_head (singleton, last_sequence) VALUES (1, 0);
CREATE TABLE instance_identity (
  singleton integer PRIMARY KEY CHECK (singleton = 1),
  epoch bytea NOT NULL CHECK (octet_length(epoch) = 16)
);
)sql";

// The case keys' wraps and manifests (PostgresKeyWrapStore), as keys.db holds
// them for SqlcipherKeyWrapStore.
constexpr const char* kCreateKeyTables = R"sql(
CREATE TABLE key_epochs (
  case_id bytea NOT NULL,
  epoch bigint NOT NULL CHECK (epoch >= 1),
  manifest bytea NOT NULL,
  uploaded_by bytea NOT NULL,
  uploaded_at bigint NOT NULL,
  PRIMARY KEY (case_id, epoch)
);
CREATE TABLE key_wraps (
  case_id bytea NOT NULL,
  epoch bigint NOT NULL,
  recipient bytea NOT NULL,
  wrap bytea NOT NULL,
  PRIMARY KEY (case_id, epoch, recipient),
  FOREIGN KEY (case_id, epoch) REFERENCES key_epochs (case_id, epoch)
);
)sql";

// The control store (PostgresControlStore): the tables of control.db
// (server/access/internal/control_store_migrations.cpp) in PostgreSQL types,
// plus audit_head, the one row every audit append locks, so that two
// instances cannot both append sequence n and fork the hash chain. Flags are
// bigint 0/1 and times bigint milliseconds, as on SQLCipher.
constexpr const char* kCreateControlTables = R"sql(
CREATE TABLE users (
  name text PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('lawyer', 'supervisor', 'admin')),
  disabled bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL
);
CREATE TABLE devices (
  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),
  user_name text NOT NULL REFERENCES users (name),
  signing_key bytea NOT NULL CHECK (octet_length(signing_key) = 32),
  wrapping_key bytea NOT NULL CHECK (octet_length(wrapping_key) = 32),
  state text NOT NULL CHECK (state IN ('pending', 'certified', 'revoked')),
  enrolled_at bigint NOT NULL,
  certificate bytea,
  wipe_order bytea
);
CREATE INDEX devices_by_user ON devices (user_name);
CREATE TABLE enrolment_codes (
  code_hash bytea PRIMARY KEY CHECK (octet_length(code_hash) = 32),
  user_name text NOT NULL REFERENCES users (name),
  expires_at bigint NOT NULL,
  used bigint NOT NULL DEFAULT 0
);
CREATE TABLE auth_challenges (
  challenge bytea PRIMARY KEY,
  device bytea NOT NULL REFERENCES devices (id),
  expires_at bigint NOT NULL,
  used bigint NOT NULL DEFAULT 0
);
CREATE INDEX auth_challenges_by_device ON auth_challenges (device);
CREATE TABLE tokens (
  token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  device bytea NOT NULL REFERENCES devices (id),
  expires_at bigint NOT NULL
);
CREATE INDEX tokens_by_device ON tokens (device);
CREATE TABLE cases (
  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),
  created_at bigint NOT NULL,
  created_by text NOT NULL
);
CREATE TABLE case_members (
  case_id bytea NOT NULL REFERENCES cases (id),
  user_name text NOT NULL REFERENCES users (name),
  added_at bigint NOT NULL,
  PRIMARY KEY (case_id, user_name)
);
CREATE INDEX case_members_by_user ON case_members (user_name, case_id);
CREATE TABLE audit_log (
  sequence bigint PRIMARY KEY CHECK (sequence >= 1),
  time bigint NOT NULL,
  actor text NOT NULL,
  event text NOT NULL,
  subject text NOT NULL,
  details text NOT NULL,
  hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE INDEX audit_log_by_event ON audit_log (event, sequence);
CREATE INDEX audit_log_by_subject ON audit_log (subject, sequence);
CREATE INDEX audit_log_by_actor ON audit_log (actor, sequence);
CREATE TABLE audit_head (
  singleton integer PRIMARY KEY CHECK (singleton = 1),
  last_sequence bigint NOT NULL CHECK (last_sequence >= 0),
  last_hash bytea NOT NULL CHECK (octet_length(last_hash) = 32)
);
INSERT INTO audit_head (singleton, last_sequence, last_hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
-- Append-only through SQL; the hash chain catches whoever edits it another way.
CREATE FUNCTION audit_log_refuses_change() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuses_change();
)sql";

// tus uploads and stored attachment contents (PostgresUploadStore), as
// casefile.db holds them at its migration 4.
constexpr const char* kCreateAttachmentTables = R"sql(
CREATE TABLE attachment_uploads (
  upload_id text PRIMARY KEY CHECK (length(upload_id) = 32),
  device bytea NOT NULL,
  case_id bytea NOT NULL,
  record_id bytea NOT NULL,
  length bigint NOT NULL CHECK (length >= 0),
  upload_offset bigint NOT NULL CHECK (upload_offset >= 0 AND upload_offset <= length),
  expires_at bigint NOT NULL,
  UNIQUE (device, case_id, record_id)
);
CREATE INDEX attachment_uploads_by_expiry ON attachment_uploads (expires_at);
CREATE INDEX attachment_uploads_by_device ON attachment_uploads (device);
CREATE TABLE attachment_blobs (
  case_id bytea NOT NULL,
  record_id bytea NOT NULL,
  size bigint NOT NULL CHECK (size >= 0),
  sha256 text NOT NULL CHECK (length(sha256) = 64),
  device bytea NOT NULL,
  stored_at bigint NOT NULL,
  PRIMARY KEY (case_id, record_id)
);
CREATE INDEX attachment_blobs_by_device ON attachment_blobs (device);
)sql";

// The upload lease (UploadStore::take_lease), as casefile.db holds it at its
// migration 5: which request works on an upload, and until when.
constexpr const char* kAddUploadLease = R"sql(
ALTER TABLE attachment_uploads ADD COLUMN lease_holder text;
ALTER TABLE attachment_uploads ADD COLUMN lease_until bigint NOT NULL DEFAULT 0;
)sql";

// The epoch comes from OpenSSL's generator, as on SQLCipher it comes from the OS.
Status insert_instance_epoch(postgres::Connection& connection) {
  auto epoch = crypto::random_bytes(kInstanceEpochSize);
  if (!epoch.ok()) return std::move(epoch).error();
  auto inserted = connection.execute("INSERT INTO instance_identity (singleton, epoch) VALUES (1, $1)",
                                     postgres::Parameters().bytes(*epoch));
  if (!inserted.ok()) return std::move(inserted).error();
  return ok_status();
}

const std::vector<PostgresMigration>& migrations() {
  static const std::vector<PostgresMigration> list = {
      {1, "create batches, change_log, records, log_head and instance_identity", kCreateSyncTables,
       insert_instance_epoch},
      {2, "create key_epochs and key_wraps", kCreateKeyTables, {}},
      {3, "create the control store's tables and audit_head", kCreateControlTables, {}},
      {4, "create attachment_uploads and attachment_blobs", kCreateAttachmentTables, {}},
      {5, "attachment_uploads: the upload lease (holder and expiry)", kAddUploadLease, {}},
  };
  return list;
}

void check_numbering(std::span<const PostgresMigration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i + 1)) {
      throw std::invalid_argument("PostgreSQL migration at position " + std::to_string(i) + " has version " +
                                  std::to_string(migrations[i].version) + "; versions must run 1, 2, 3, ...");
    }
  }
}

Error too_new(int found, int known) {
  return make_error("schema_too_new", "the PostgreSQL database has schema version " + std::to_string(found) +
                                          " but this program knows versions up to " + std::to_string(known) +
                                          "; upgrade Casefile before opening it");
}

Error in_step(const PostgresMigration& migration, Error error) {
  error.message = "migration " + std::to_string(migration.version) + " (" + migration.description +
                  ") failed: " + error.message;
  return error;
}

// One step, inside its transaction and under the advisory lock.
Status apply_step(postgres::Connection& connection, const PostgresMigration& migration, int known) {
  auto current = postgres_schema_version(connection);
  if (!current.ok()) return std::move(current).error();
  if (*current > known) return too_new(*current, known);
  if (*current >= migration.version) return ok_status();  // another instance applied it
  if (!migration.sql.empty()) CASEFILE_RETURN_IF_ERROR(connection.execute_script(migration.sql));
  if (migration.apply) CASEFILE_RETURN_IF_ERROR(migration.apply(connection));
  auto bumped = connection.execute("UPDATE casefile_schema_version SET version = $1 WHERE singleton = 1",
                                   postgres::Parameters().int64(migration.version));
  if (!bumped.ok()) return std::move(bumped).error();
  return ok_status();
}

}  // namespace

std::span<const PostgresMigration> postgres_server_migrations() { return migrations(); }

Result<int> postgres_schema_version(postgres::Connection& connection) {
  auto exists = connection.execute(
      "SELECT CASE WHEN to_regclass('casefile_schema_version') IS NULL THEN 0 ELSE 1 END::int8");
  if (!exists.ok()) return std::move(exists).error();
  auto present = exists->int64(0, 0);
  if (!present.ok()) return std::move(present).error();
  if (*present == 0) return 0;
  auto version = connection.execute("SELECT version FROM casefile_schema_version WHERE singleton = 1");
  if (!version.ok()) return std::move(version).error();
  if (version->rows() != 1) return make_error("corrupt", "casefile_schema_version holds no row");
  auto value = version->int64(0, 0);
  if (!value.ok()) return std::move(value).error();
  return static_cast<int>(*value);
}

Status migrate_postgres(postgres::Connection& connection, std::span<const PostgresMigration> migrations) {
  check_numbering(migrations);
  const int known = static_cast<int>(migrations.size());
  auto initial = postgres_schema_version(connection);
  if (!initial.ok()) return std::move(initial).error();
  if (*initial > known) return too_new(*initial, known);

  Status created = postgres::in_transaction(connection, "BEGIN", [&]() -> Status {
    auto locked =
        connection.execute("SELECT pg_advisory_xact_lock($1)", postgres::Parameters().int64(kMigrationLock));
    if (!locked.ok()) return std::move(locked).error();
    return connection.execute_script(
        "CREATE TABLE IF NOT EXISTS casefile_schema_version ("
        "  singleton integer PRIMARY KEY CHECK (singleton = 1),"
        "  version bigint NOT NULL CHECK (version >= 0));"
        "INSERT INTO casefile_schema_version (singleton, version) VALUES (1, 0) ON CONFLICT DO NOTHING");
  });
  CASEFILE_RETURN_IF_ERROR(created);

  for (const PostgresMigration& migration : migrations) {
    if (migration.version <= *initial) continue;
    Status applied = postgres::in_transaction(connection, "BEGIN", [&]() -> Status {
      auto locked = connection.execute("SELECT pg_advisory_xact_lock($1)",
                                       postgres::Parameters().int64(kMigrationLock));
      if (!locked.ok()) return std::move(locked).error();
      return apply_step(connection, migration, known);
    });
    if (!applied.ok()) {
      if (applied.error().code == "schema_too_new") return applied;
      return in_step(migration, std::move(applied).error());
    }
  }
  return ok_status();
}

}  // namespace casefile::server
