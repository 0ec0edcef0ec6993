#include "server/sync_api/statistics_snapshot.hpp"

#include <system_error>
#include <variant>

#include "sync/ids.hpp"
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
  auto query = database.prepare("SELECT state FROM records WHERE collection = ?");
  if (!query.ok()) return make_error("store_unavailable", "cannot read records: " + query.error().message);
  StatisticsSnapshot snapshot;
  for (const char* collection : kStatisticsCollections) {
    query->reset();
    query->bind_text(1, collection);
    while (true) {
      auto row = query->step();
      if (!row.ok()) return make_error("store_unavailable", "cannot read records: " + row.error().message);
      if (!*row) break;
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
