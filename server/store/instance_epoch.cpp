#include "server/store/instance_epoch.hpp"

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"

namespace casefile::server {

Result<std::string> read_instance_epoch(schema::Database& database) {
  auto select = database.prepare("SELECT epoch FROM instance_identity WHERE singleton = 1");
  if (!select.ok()) return std::move(select).error();
  auto row = select->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return make_error("store_corrupt", "casefile.db holds no instance epoch");
  const crypto::Bytes epoch = select->column_blob(0);
  if (epoch.size() != kInstanceEpochSize) return make_error("store_corrupt", "malformed instance epoch");
  return crypto::to_hex(epoch);
}

Result<std::string> renew_instance_epoch(schema::Database& database) {
  auto epoch = crypto::random_bytes(kInstanceEpochSize);
  if (!epoch.ok()) return std::move(epoch).error();
  auto update = database.prepare("UPDATE instance_identity SET epoch = ?1 WHERE singleton = 1");
  if (!update.ok()) return std::move(update).error();
  update->bind_blob(1, *epoch);
  auto done = update->step();
  if (!done.ok()) return std::move(done).error();
  if (database.changes() != 1) return make_error("store_corrupt", "casefile.db holds no instance epoch");
  return crypto::to_hex(*epoch);
}

}  // namespace casefile::server
