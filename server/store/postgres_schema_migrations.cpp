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
