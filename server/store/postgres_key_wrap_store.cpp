#include "server/store/postgres_key_wrap_store.hpp"

#include <utility>

#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"
#include "server/store/internal/column_values.hpp"
#include "server/store/postgres_connection.hpp"
#include "server/store/postgres_schema_migrations.hpp"
#include "server/sync_api/key_wrap_rules.hpp"

namespace casefile::server {
namespace {

using internal::id_column;
using postgres::Connection;
using postgres::Parameters;

// The interface's own codes pass; anything else is the store failing.
template <typename T>
Result<T> key_store_result(Result<T> result) {
  if (result.ok()) return result;
  const std::string& code = result.error().code;
  if (code == "epoch_not_monotonic" || code == "epoch_unknown" || code == "wrap_exists") return result;
  return make_error("key_store_unavailable",
                    "the key store failed: " + result.error().code + ": " + result.error().message);
}

template <typename Body>
auto with_connection(postgres::ConnectionPool& pool, Body&& body)
    -> decltype(body(std::declval<Connection&>())) {
  using Answer = decltype(body(std::declval<Connection&>()));
  auto lease = pool.acquire();
  if (!lease.ok()) return key_store_result(Answer(std::move(lease).error()));
  return key_store_result(body(lease->connection()));
}

// Serialises writers of one case's keyring, across instances, until the
// transaction ends. The key is the case id's first 8 bytes (ids are random).
Status lock_case(Connection& connection, const sync::CaseId& case_id) {
  std::int64_t key = 0;
  for (int i = 0; i < 8; ++i)
    key = static_cast<std::int64_t>((static_cast<std::uint64_t>(key) << 8) | case_id.bytes[i]);
  auto locked = connection.execute("SELECT pg_advisory_xact_lock($1)", Parameters().int64(key));
  if (!locked.ok()) return std::move(locked).error();
  return ok_status();
}

Result<std::optional<KeyEpoch>> load_epoch(Connection& connection, const sync::CaseId& case_id,
                                           std::uint32_t epoch) {
  auto head = connection.execute(
      "SELECT manifest, uploaded_by, uploaded_at FROM key_epochs WHERE case_id = $1 AND epoch = $2",
      Parameters().bytes(id_column(case_id)).int64(epoch));
  if (!head.ok()) return std::move(head).error();
  if (head->rows() == 0) return std::optional<KeyEpoch>();
  KeyEpoch stored;
  stored.case_id = case_id;
  stored.epoch = epoch;
  stored.manifest = head->bytes(0, 0);
  auto uploaded_by = internal::id_from_bytes<sync::DeviceId>(head->bytes(0, 1));
  auto uploaded_at = head->int64(0, 2);
  if (!uploaded_by || !uploaded_at.ok()) return make_error("corrupt", "a key_epochs row does not decode");
  stored.uploaded_by = *uploaded_by;
  stored.uploaded_at_ms = *uploaded_at;
  auto wraps = connection.execute(
      "SELECT recipient, wrap FROM key_wraps WHERE case_id = $1 AND epoch = $2 ORDER BY recipient",
      Parameters().bytes(id_column(case_id)).int64(epoch));
  if (!wraps.ok()) return std::move(wraps).error();
  for (int row = 0; row < wraps->rows(); ++row) {
    auto recipient = internal::id_from_bytes<sync::DeviceId>(wraps->bytes(row, 0));
    if (!recipient) return make_error("corrupt", "a key_wraps row does not decode");
    stored.wraps.push_back(KeyWrap{*recipient, wraps->bytes(row, 1)});
  }
  return std::optional<KeyEpoch>(std::move(stored));
}

Result<std::int64_t> newest_epoch(Connection& connection, const sync::CaseId& case_id) {
  auto newest = connection.execute("SELECT coalesce(max(epoch), 0)::int8 FROM key_epochs WHERE case_id = $1",
                                   Parameters().bytes(id_column(case_id)));
  if (!newest.ok()) return std::move(newest).error();
  return newest->int64(0, 0);
}

Status insert_wrap(Connection& connection, const sync::CaseId& case_id, std::uint32_t epoch,
                   const KeyWrap& wrap) {
  auto inserted = connection.execute(
      "INSERT INTO key_wraps (case_id, epoch, recipient, wrap) VALUES ($1, $2, $3, $4)",
      Parameters().bytes(id_column(case_id)).int64(epoch).bytes(id_column(wrap.recipient)).bytes(wrap.wrap));
  if (!inserted.ok()) return std::move(inserted).error();
  return ok_status();
}

Result<std::vector<KeyEpoch>> load_epochs(Connection& connection, const sync::CaseId& case_id) {
  auto numbers = connection.execute("SELECT epoch FROM key_epochs WHERE case_id = $1 ORDER BY epoch",
                                    Parameters().bytes(id_column(case_id)));
  if (!numbers.ok()) return std::move(numbers).error();
  std::vector<KeyEpoch> epochs;
  for (int row = 0; row < numbers->rows(); ++row) {
    auto number = numbers->int64(row, 0);
    if (!number.ok()) return std::move(number).error();
    auto epoch = load_epoch(connection, case_id, static_cast<std::uint32_t>(*number));
    if (!epoch.ok()) return std::move(epoch).error();
    if (epoch->has_value()) epochs.push_back(std::move(**epoch));
  }
  return epochs;
}

constexpr const char* kReadSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

}  // namespace

Result<std::unique_ptr<PostgresKeyWrapStore>> PostgresKeyWrapStore::open(std::string_view connection_string,
                                                                         std::size_t connections) {
  const crypto::SecretBytes secret(crypto::as_bytes(connection_string));
  auto first = Connection::open(secret);
  if (!first.ok()) return key_store_result<std::unique_ptr<PostgresKeyWrapStore>>(std::move(first).error());
  Status migrated = migrate_postgres(**first, postgres_server_migrations());
  if (!migrated.ok()) {
    if (migrated.error().code == "schema_too_new") return std::move(migrated).error();
    return key_store_result<std::unique_ptr<PostgresKeyWrapStore>>(std::move(migrated).error());
  }
  auto pool = std::make_unique<postgres::ConnectionPool>(secret, std::move(first).value(), connections);
  return std::unique_ptr<PostgresKeyWrapStore>(new PostgresKeyWrapStore(std::move(pool)));
}

PostgresKeyWrapStore::PostgresKeyWrapStore(std::unique_ptr<postgres::ConnectionPool> pool)
    : pool_(std::move(pool)) {}

PostgresKeyWrapStore::~PostgresKeyWrapStore() = default;

Result<KeyEpochStored> PostgresKeyWrapStore::put_epoch(const KeyEpoch& epoch) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<KeyEpochStored> {
    return postgres::in_transaction(connection, "BEGIN", [&]() -> Result<KeyEpochStored> {
      CASEFILE_RETURN_IF_ERROR(lock_case(connection, epoch.case_id));
      auto newest = newest_epoch(connection, epoch.case_id);
      if (!newest.ok()) return std::move(newest).error();
      if (static_cast<std::int64_t>(epoch.epoch) <= *newest) {
        auto stored = load_epoch(connection, epoch.case_id, epoch.epoch);
        if (!stored.ok()) return std::move(stored).error();
        if (stored->has_value() && same_epoch_content(**stored, epoch)) return KeyEpochStored::already_stored;
        return make_error("epoch_not_monotonic", "epoch " + std::to_string(epoch.epoch) +
                                                     " is not above the case's newest epoch " +
                                                     std::to_string(*newest));
      }
      auto inserted = connection.execute(
          "INSERT INTO key_epochs (case_id, epoch, manifest, uploaded_by, uploaded_at) VALUES ($1, $2, $3, "
          "$4, $5)",
          Parameters()
              .bytes(id_column(epoch.case_id))
              .int64(epoch.epoch)
              .bytes(epoch.manifest)
              .bytes(id_column(epoch.uploaded_by))
              .int64(epoch.uploaded_at_ms));
      if (!inserted.ok()) return std::move(inserted).error();
      for (const KeyWrap& wrap : epoch.wraps)
        CASEFILE_RETURN_IF_ERROR(insert_wrap(connection, epoch.case_id, epoch.epoch, wrap));
      return KeyEpochStored::created;
    });
  });
}

Result<std::vector<KeyEpochForDevice>> PostgresKeyWrapStore::epochs_for_device(const sync::CaseId& case_id,
                                                                               const sync::DeviceId& device) {
  auto stored = epochs(case_id);
  if (!stored.ok()) return std::move(stored).error();
  std::vector<KeyEpochForDevice> found;
  for (KeyEpoch& epoch : *stored) {
    KeyEpochForDevice item{epoch.epoch, std::move(epoch.manifest), std::nullopt, {}};
    for (KeyWrap& wrap : epoch.wraps) {
      item.recipients.push_back(wrap.recipient);
      if (wrap.recipient == device) item.wrap = std::move(wrap.wrap);
    }
    found.push_back(std::move(item));
  }
  return found;
}

Result<KeyEpochStored> PostgresKeyWrapStore::add_wraps(const sync::CaseId& case_id, std::uint32_t epoch,
                                                       std::span<const KeyWrap> wraps) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<KeyEpochStored> {
    return postgres::in_transaction(connection, "BEGIN", [&]() -> Result<KeyEpochStored> {
      CASEFILE_RETURN_IF_ERROR(lock_case(connection, case_id));
      auto stored = load_epoch(connection, case_id, epoch);
      if (!stored.ok()) return std::move(stored).error();
      if (!stored->has_value()) {
        return make_error("epoch_unknown", "the case has no stored epoch " + std::to_string(epoch));
      }
      auto new_wraps = wraps_to_add(**stored, wraps);
      if (!new_wraps.ok()) return std::move(new_wraps).error();
      if (new_wraps->empty()) return KeyEpochStored::already_stored;
      for (const KeyWrap* wrap : *new_wraps)
        CASEFILE_RETURN_IF_ERROR(insert_wrap(connection, case_id, epoch, *wrap));
      return KeyEpochStored::created;
    });
  });
}

Result<std::vector<CaseHeadEpoch>> PostgresKeyWrapStore::head_epochs(std::span<const sync::CaseId> cases) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<CaseHeadEpoch>> {
    std::vector<CaseHeadEpoch> heads;
    for (const sync::CaseId& case_id : cases) {
      auto newest = newest_epoch(connection, case_id);
      if (!newest.ok()) return std::move(newest).error();
      if (*newest > 0) heads.push_back(CaseHeadEpoch{case_id, static_cast<std::uint32_t>(*newest)});
    }
    return heads;
  });
}

Result<std::vector<KeyEpoch>> PostgresKeyWrapStore::epochs(const sync::CaseId& case_id) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<KeyEpoch>> {
    return postgres::in_transaction(connection, kReadSnapshot,
                                    [&] { return load_epochs(connection, case_id); });
  });
}

}  // namespace casefile::server
