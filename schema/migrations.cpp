#include "schema/migrations.hpp"

#include <stdexcept>
#include <string>

namespace casefile::schema {
namespace {

void check_numbering(std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i + 1)) {
      throw std::invalid_argument("migration at position " + std::to_string(i) + " has version " +
                                  std::to_string(migrations[i].version) + "; versions must run 1, 2, 3, ...");
    }
  }
}

Error in_step(const Migration& migration, Error error) {
  error.message = "migration " + std::to_string(migration.version) + " (" + migration.description +
                  ") failed: " + error.message;
  return error;
}

Status apply_step(Database& database, const Migration& migration) {
  if (!migration.sql.empty()) CASEFILE_RETURN_IF_ERROR(database.execute(migration.sql));
  if (migration.apply) CASEFILE_RETURN_IF_ERROR(migration.apply(database));
  return database.execute("PRAGMA user_version = " + std::to_string(migration.version));
}

Status too_new(int found, int known) {
  return make_error("schema_too_new", "the database has schema version " + std::to_string(found) +
                                          " but this program knows versions up to " + std::to_string(known) +
                                          "; upgrade Casefile before opening it");
}

}  // namespace

Result<int> schema_version(Database& database) {
  auto statement = database.prepare("PRAGMA user_version");
  if (!statement.ok()) return std::move(statement).error();
  auto row = statement->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return make_error("database_error", "PRAGMA user_version returned no row");
  return static_cast<int>(statement->column_int64(0));
}

Status migrate(Database& database, std::span<const Migration> migrations) {
  check_numbering(migrations);
  const int known = static_cast<int>(migrations.size());
  auto initial = schema_version(database);
  if (!initial.ok()) return std::move(initial).error();
  if (*initial > known) return too_new(*initial, known);

  for (const Migration& migration : migrations) {
    if (migration.version <= *initial) continue;
    auto transaction = database.begin();
    if (!transaction.ok()) return std::move(transaction).error();
    // Read again under the write lock: another process may have migrated
    // between our first read and BEGIN IMMEDIATE.
    auto current = schema_version(database);
    if (!current.ok()) return std::move(current).error();
    if (*current > known) return too_new(*current, known);
    if (*current >= migration.version) continue;
    Status applied = apply_step(database, migration);
    if (!applied.ok()) return in_step(migration, std::move(applied).error());
    Status committed = transaction->commit();
    if (!committed.ok()) return in_step(migration, std::move(committed).error());
  }
  return ok_status();
}

}  // namespace casefile::schema
