#include "tools/casefile-admin/instance_stores.hpp"

#include <optional>
#include <string>

#include "server/access/postgres_control_store.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/config.hpp"
#include "server/instance.hpp"
#include "server/store/postgres_key_wrap_store.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"

namespace casefile::admin {
namespace {

// The connection string when the instance's stores are on PostgreSQL.
Result<std::optional<std::string>> postgres_url(const std::filesystem::path& instance) {
  const server::InstanceLayout layout(instance);
  std::error_code missing;
  if (!std::filesystem::exists(layout.config(), missing)) return std::optional<std::string>();
  auto config = server::load_config(layout.config());
  if (!config.ok()) return std::move(config).error();
  if (config->store.kind != server::StoreKind::postgres) return std::optional<std::string>();
  return std::optional<std::string>(config->store.postgres_url);
}

}  // namespace

Result<std::unique_ptr<server::ControlStore>> open_instance_control_store(
    const std::filesystem::path& instance) {
  auto url = postgres_url(instance);
  if (!url.ok()) return std::move(url).error();
  if (*url) {
    auto store = server::PostgresControlStore::open(**url, 1);
    if (!store.ok()) return std::move(store).error();
    return std::unique_ptr<server::ControlStore>(std::move(*store));
  }
  auto store = server::SqlCipherControlStore::open_in_instance(instance);
  if (!store.ok()) return std::move(store).error();
  return std::unique_ptr<server::ControlStore>(std::move(*store));
}

Result<std::unique_ptr<server::KeyWrapStore>> open_instance_key_wrap_store(
    const std::filesystem::path& instance) {
  auto url = postgres_url(instance);
  if (!url.ok()) return std::move(url).error();
  if (*url) {
    auto store = server::PostgresKeyWrapStore::open(**url, 1);
    if (!store.ok()) return std::move(store).error();
    return std::unique_ptr<server::KeyWrapStore>(std::move(*store));
  }
  const server::InstanceLayout layout(instance);
  auto key = server::read_database_key_file(layout.database_key());
  if (!key.ok()) return std::move(key).error();
  auto store = server::SqlcipherKeyWrapStore::open(server::key_wrap_database_path(layout.database()), *key);
  if (!store.ok()) return std::move(store).error();
  return std::unique_ptr<server::KeyWrapStore>(std::move(*store));
}

}  // namespace casefile::admin
