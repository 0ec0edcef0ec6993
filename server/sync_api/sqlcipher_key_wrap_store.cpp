#include "server/sync_api/sqlcipher_key_wrap_store.hpp"

#include <algorithm>
#include <vector>

#include "schema/migrations.hpp"
#include "server/sync_api/key_wrap_rules.hpp"

namespace casefile::server {
namespace {

// Ids are their 16 raw bytes.
constexpr const char* kCreateKeyTables = R"sql(
CREATE TABLE key_epochs (
  case_id BLOB NOT NULL,
  epoch INTEGER NOT NULL CHECK (epoch >= 1),
  manifest BLOB NOT NULL,
  uploaded_by BLOB NOT NULL,
  uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (case_id, epoch)
) WITHOUT ROWID;

CREATE TABLE key_wraps (
  case_id BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  recipient BLOB NOT NULL,
  wrap BLOB NOT NULL,
  PRIMARY KEY (case_id, epoch, recipient),
  FOREIGN KEY (case_id, epoch) REFERENCES key_epochs (case_id, epoch)
) WITHOUT ROWID;
)sql";

const std::vector<schema::Migration>& migrations() {
  static const std::vector<schema::Migration> list = {
      {1, "create key_epochs and key_wraps", kCreateKeyTables, {}},
  };
  return list;
}

template <typename Tag>
crypto::ByteView id_bytes(const sync::Id128<Tag>& id) {
  return crypto::ByteView(id.bytes);
}

template <typename IdType>
IdType id_from_blob(const crypto::Bytes& blob) {
  IdType id;
  std::copy_n(blob.begin(), std::min(blob.size(), id.bytes.size()), id.bytes.begin());
  return id;
}

Error unavailable(const Error& error) {
  return make_error("key_store_unavailable", "the key store failed: " + error.code + ": " + error.message);
}

// The stored epoch, with every wrap, or nullopt. REQUIRES: the caller holds the mutex.
Result<std::optional<KeyEpoch>> load_epoch(schema::Database& database, const sync::CaseId& case_id,
                                           std::uint32_t epoch) {
  auto head = database.prepare(
      "SELECT manifest, uploaded_by, uploaded_at FROM key_epochs WHERE case_id = ? AND epoch = ?");
  if (!head.ok()) return std::move(head).error();
  head->bind_blob(1, id_bytes(case_id)).bind_int64(2, epoch);
  auto found = head->step();
  if (!found.ok()) return std::move(found).error();
  if (!*found) return std::optional<KeyEpoch>();
  KeyEpoch stored;
  stored.case_id = case_id;
  stored.epoch = epoch;
  stored.manifest = head->column_blob(0);
  stored.uploaded_by = id_from_blob<sync::DeviceId>(head->column_blob(1));
  stored.uploaded_at_ms = head->column_int64(2);
  auto wraps = database.prepare(
      "SELECT recipient, wrap FROM key_wraps WHERE case_id = ? AND epoch = ? ORDER BY recipient");
  if (!wraps.ok()) return std::move(wraps).error();
  wraps->bind_blob(1, id_bytes(case_id)).bind_int64(2, epoch);
  while (true) {
    auto row = wraps->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) break;
    stored.wraps.push_back(
        KeyWrap{id_from_blob<sync::DeviceId>(wraps->column_blob(0)), wraps->column_blob(1)});
  }
  return std::optional<KeyEpoch>(std::move(stored));
}

Result<std::int64_t> newest_epoch(schema::Database& database, const sync::CaseId& case_id) {
  auto statement = database.prepare("SELECT coalesce(max(epoch), 0) FROM key_epochs WHERE case_id = ?");
  if (!statement.ok()) return std::move(statement).error();
  statement->bind_blob(1, id_bytes(case_id));
  auto row = statement->step();
  if (!row.ok()) return std::move(row).error();
  return statement->column_int64(0);
}

Status insert_wrap(schema::Database& database, const sync::CaseId& case_id, std::uint32_t epoch,
                   const KeyWrap& wrap) {
  auto statement =
      database.prepare("INSERT INTO key_wraps (case_id, epoch, recipient, wrap) VALUES (?, ?, ?, ?)");
  if (!statement.ok()) return std::move(statement).error();
  statement->bind_blob(1, id_bytes(case_id))
      .bind_int64(2, epoch)
      .bind_blob(3, id_bytes(wrap.recipient))
      .bind_blob(4, wrap.wrap);
  return statement->run();
}

Result<KeyEpochStored> put_epoch_locked(schema::Database& database, const KeyEpoch& epoch) {
  auto transaction = database.begin();
  if (!transaction.ok()) return std::move(transaction).error();
  auto newest = newest_epoch(database, epoch.case_id);
  if (!newest.ok()) return std::move(newest).error();
  if (static_cast<std::int64_t>(epoch.epoch) <= *newest) {
    auto stored = load_epoch(database, epoch.case_id, epoch.epoch);
    if (!stored.ok()) return std::move(stored).error();
    if (stored->has_value() && same_epoch_content(**stored, epoch)) return KeyEpochStored::already_stored;
    return make_error("epoch_not_monotonic", "epoch " + std::to_string(epoch.epoch) +
                                                 " is not above the case's newest epoch " +
                                                 std::to_string(*newest));
  }
  auto insert_epoch = database.prepare(
      "INSERT INTO key_epochs (case_id, epoch, manifest, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?)");
  if (!insert_epoch.ok()) return std::move(insert_epoch).error();
  insert_epoch->bind_blob(1, id_bytes(epoch.case_id))
      .bind_int64(2, epoch.epoch)
      .bind_blob(3, epoch.manifest)
      .bind_blob(4, id_bytes(epoch.uploaded_by))
      .bind_int64(5, epoch.uploaded_at_ms);
  CASEFILE_RETURN_IF_ERROR(insert_epoch->run());
  for (const KeyWrap& wrap : epoch.wraps) {
    CASEFILE_RETURN_IF_ERROR(insert_wrap(database, epoch.case_id, epoch.epoch, wrap));
  }
  CASEFILE_RETURN_IF_ERROR(transaction->commit());
  return KeyEpochStored::created;
}

Result<std::vector<KeyEpoch>> load_epochs(schema::Database& database, const sync::CaseId& case_id) {
  auto numbers = database.prepare("SELECT epoch FROM key_epochs WHERE case_id = ? ORDER BY epoch");
  if (!numbers.ok()) return std::move(numbers).error();
  numbers->bind_blob(1, id_bytes(case_id));
  std::vector<std::uint32_t> found;
  while (true) {
    auto row = numbers->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) break;
    found.push_back(static_cast<std::uint32_t>(numbers->column_int64(0)));
  }
  std::vector<KeyEpoch> epochs;
  for (std::uint32_t number : found) {
    auto epoch = load_epoch(database, case_id, number);
    if (!epoch.ok()) return std::move(epoch).error();
    if (epoch->has_value()) epochs.push_back(std::move(**epoch));
  }
  return epochs;
}

Result<KeyEpochStored> add_wraps_locked(schema::Database& database, const sync::CaseId& case_id,
                                        std::uint32_t epoch, std::span<const KeyWrap> wraps) {
  auto transaction = database.begin();
  if (!transaction.ok()) return std::move(transaction).error();
  auto stored = load_epoch(database, case_id, epoch);
  if (!stored.ok()) return std::move(stored).error();
  if (!stored->has_value()) {
    return make_error("epoch_unknown", "the case has no stored epoch " + std::to_string(epoch));
  }
  auto new_wraps = wraps_to_add(**stored, wraps);
  if (!new_wraps.ok()) return std::move(new_wraps).error();
  if (new_wraps->empty()) return KeyEpochStored::already_stored;
  for (const KeyWrap* wrap : *new_wraps)
    CASEFILE_RETURN_IF_ERROR(insert_wrap(database, case_id, epoch, *wrap));
  CASEFILE_RETURN_IF_ERROR(transaction->commit());
  return KeyEpochStored::created;
}

}  // namespace

std::filesystem::path key_wrap_database_path(const std::filesystem::path& sync_database) {
  return sync_database.parent_path() / "keys.db";
}

Result<std::unique_ptr<SqlcipherKeyWrapStore>> SqlcipherKeyWrapStore::open(
    const std::filesystem::path& path, const crypto::SecretBytes& database_key) {
  auto database = schema::Database::open(path, database_key);
  if (!database.ok()) return std::move(database).error();
  CASEFILE_RETURN_IF_ERROR(schema::migrate(*database, migrations()));
  return std::unique_ptr<SqlcipherKeyWrapStore>(new SqlcipherKeyWrapStore(std::move(database).value()));
}

Result<KeyEpochStored> SqlcipherKeyWrapStore::put_epoch(const KeyEpoch& epoch) {
  const std::lock_guard lock(mutex_);
  auto stored = put_epoch_locked(database_, epoch);
  if (!stored.ok() && stored.error().code != "epoch_not_monotonic") return unavailable(stored.error());
  return stored;
}

Result<std::vector<KeyEpochForDevice>> SqlcipherKeyWrapStore::epochs_for_device(
    const sync::CaseId& case_id, const sync::DeviceId& device) {
  const std::lock_guard lock(mutex_);
  auto stored = load_epochs(database_, case_id);
  if (!stored.ok()) return unavailable(stored.error());
  std::vector<KeyEpochForDevice> epochs;
  for (KeyEpoch& epoch : *stored) {
    KeyEpochForDevice item{epoch.epoch, std::move(epoch.manifest), std::nullopt, {}};
    for (KeyWrap& wrap : epoch.wraps) {
      item.recipients.push_back(wrap.recipient);
      if (wrap.recipient == device) item.wrap = std::move(wrap.wrap);
    }
    epochs.push_back(std::move(item));
  }
  return epochs;
}

Status SqlcipherKeyWrapStore::rekey(const crypto::SecretBytes& new_key) {
  const std::lock_guard lock(mutex_);
  return database_.rekey(new_key);
}

Result<KeyEpochStored> SqlcipherKeyWrapStore::add_wraps(const sync::CaseId& case_id, std::uint32_t epoch,
                                                        std::span<const KeyWrap> wraps) {
  const std::lock_guard lock(mutex_);
  auto added = add_wraps_locked(database_, case_id, epoch, wraps);
  if (!added.ok() && added.error().code != "epoch_unknown" && added.error().code != "wrap_exists") {
    return unavailable(added.error());
  }
  return added;
}

Result<std::vector<CaseHeadEpoch>> SqlcipherKeyWrapStore::head_epochs(std::span<const sync::CaseId> cases) {
  const std::lock_guard lock(mutex_);
  std::vector<CaseHeadEpoch> heads;
  for (const sync::CaseId& case_id : cases) {
    auto newest = newest_epoch(database_, case_id);
    if (!newest.ok()) return unavailable(newest.error());
    if (*newest > 0) heads.push_back(CaseHeadEpoch{case_id, static_cast<std::uint32_t>(*newest)});
  }
  return heads;
}

Result<std::vector<KeyEpoch>> SqlcipherKeyWrapStore::epochs(const sync::CaseId& case_id) {
  const std::lock_guard lock(mutex_);
  auto stored = load_epochs(database_, case_id);
  if (!stored.ok()) return unavailable(stored.error());
  return stored;
}

}  // namespace casefile::server
