#include "server/sync_api/statistics_snapshot.hpp"

#include <system_error>
#include <variant>

#include "sync/change_encoding.hpp"
#include "sync/ids.hpp"
#include "sync/record_state.hpp"
#include "sync/schema_change_validator.hpp"

namespace casefile::server {

void StatisticsSnapshot::add(sync::RecordState state) {
  if (state.is_deleted()) return;
  const sync::RecordState& kept = states_.emplace_back(std::move(state));
  const std::string& record_id = record_ids_.emplace_back(sync::to_text(kept.key().record_id));
  schema::StatisticsRecord record;
  record.collection = kept.key().collection;
  record.record_id = record_id;
  for (auto& [name, value] : sync::record_field_views(kept)) {
    if (const auto* sealed = std::get_if<schema::SealedView>(&value)) {
      record.sealed_fields.emplace(name, sealed->envelope);
    } else {
      record.clear_fields.emplace(name, value);
    }
  }
  records_.push_back(std::move(record));
}

Result<StatisticsSnapshot> read_statistics_snapshot(schema::Database& database) {
  // A record created by one change and not written since keeps that change's
  // sequence (created_by) instead of its state: the state is the change
  // applied to an empty record (server/store/server_schema_migrations.cpp).
  auto query = database.prepare(
      "SELECT records.state, change_log.change_bytes FROM records "
      "LEFT JOIN change_log ON change_log.sequence = records.created_by WHERE records.collection = ?");
  if (!query.ok()) return make_error("store_unavailable", "cannot read records: " + query.error().message);
  StatisticsSnapshot snapshot;
  for (const char* collection : kStatisticsCollections) {
    query->reset();
    query->bind_text(1, collection);
    while (true) {
      auto row = query->step();
      if (!row.ok()) return make_error("store_unavailable", "cannot read records: " + row.error().message);
      if (!*row) break;
      if (query->column_is_null(0)) {
        auto change = sync::decode_change(query->column_blob(1));
        if (!change.ok()) return make_error("store_corrupt", "a record's creating change does not decode");
        sync::RecordState state(change->record);
        state.apply(*change);
        snapshot.add(std::move(state));
        continue;
      }
      auto state = sync::decode_record_state(query->column_blob(0));
      if (!state.ok())
        return make_error("store_corrupt", "a stored record does not decode: " + state.error().code);
      snapshot.add(std::move(state).value());
    }
  }
  return snapshot;
}

Result<StatisticsSnapshot> read_statistics_snapshot(const std::filesystem::path& database_file,
                                                    const crypto::SecretBytes& database_key) {
  std::error_code error;
  if (!std::filesystem::exists(database_file, error)) return StatisticsSnapshot();
  auto database = schema::Database::open_reader(database_file, database_key);
  if (!database.ok()) return std::move(database).error();
  return read_statistics_snapshot(*database);
}

}  // namespace casefile::server
