// PostgresKeyWrapStore: the KeyWrapStore (server/sync_api/key_wrap_store.hpp)
// on the PostgreSQL database that PostgresServerStore uses, for several
// casefiled instances (docs/scale.md). Same contract as SqlcipherKeyWrapStore;
// one conformance suite runs both.
//
// Concurrency: put_epoch and add_wraps take a transaction-scoped advisory lock
// on their case, so two instances uploading epochs of one case at once cannot
// both pass the "above every stored epoch" check. Thread-safe: calls run on a
// pool of connections.
//
// Errors: the interface's ("epoch_not_monotonic", "epoch_unknown",
// "wrap_exists", "key_store_unavailable"; the last never names the
// connection string), and at open "schema_too_new".
#pragma once

#include <memory>
#include <string_view>

#include "server/sync_api/key_wrap_store.hpp"

namespace casefile::server {

namespace postgres {
class ConnectionPool;
}  // namespace postgres

class PostgresKeyWrapStore final : public KeyWrapStore {
 public:
  // Connects, applies the PostgreSQL migrations (postgres_schema_migrations.hpp)
  // and opens a pool of at most `connections`. Errors: "key_store_unavailable",
  // "schema_too_new".
  static Result<std::unique_ptr<PostgresKeyWrapStore>> open(std::string_view connection_string,
                                                            std::size_t connections = 2);
  ~PostgresKeyWrapStore() override;

  Result<KeyEpochStored> put_epoch(const KeyEpoch& epoch) override;
  Result<std::vector<KeyEpochForDevice>> epochs_for_device(const sync::CaseId& case_id,
                                                           const sync::DeviceId& device) override;
  Result<KeyEpochStored> add_wraps(const sync::CaseId& case_id, std::uint32_t epoch,
                                   std::span<const KeyWrap> wraps) override;
  Result<std::vector<CaseHeadEpoch>> head_epochs(std::span<const sync::CaseId> cases) override;
  Result<std::vector<KeyEpoch>> epochs(const sync::CaseId& case_id) override;

 private:
  explicit PostgresKeyWrapStore(std::unique_ptr<postgres::ConnectionPool> pool);

  std::unique_ptr<postgres::ConnectionPool> pool_;
};

}  // namespace casefile::server
