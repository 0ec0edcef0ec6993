// SqlCipherControlStore: the ControlStore conformance suite on a control.db
// file, and what only SQLCipher has (the key).
#include <gtest/gtest.h>

#include "schema/database.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "tests/server/access/access_test_support.hpp"
#include "tests/server/access/control_store_conformance.hpp"

namespace casefile::server::testing {
namespace {

class SqlCipherControlBackend final : public ControlStoreBackend {
 public:
  std::unique_ptr<ControlStore> open() override { return open_sqlcipher(); }
  std::unique_ptr<SqlCipherControlStore> open_sqlcipher() {
    return SqlCipherControlStore::open(path(), key_).value();
  }
  bool execute(const std::string& sql) override {
    auto database = schema::Database::open(path(), key_).value();
    return database.execute(sql).ok();
  }
  void tamper(const std::string& sql) override {
    auto database = schema::Database::open(path(), key_).value();
    ASSERT_TRUE(
        database.execute("DROP TRIGGER audit_log_refuses_update; DROP TRIGGER audit_log_refuses_delete;")
            .ok());
    ASSERT_TRUE(database.execute(sql).ok());
  }
  std::string blob_literal(crypto::ByteView bytes) override { return "x'" + crypto::to_hex(bytes) + "'"; }

  std::filesystem::path path() const { return directory_.path() / "control.db"; }
  const crypto::SecretBytes& key() const { return key_; }

 private:
  ScratchDirectory directory_;
  crypto::SecretBytes key_ = random_key();
};

ControlStoreBackendParam sqlcipher_control_backend_param() {
  return {"sqlcipher", [] { return std::make_unique<SqlCipherControlBackend>(); }};
}

INSTANTIATE_TEST_SUITE_P(SqlCipher, ControlStoreConformance,
                         ::testing::Values(sqlcipher_control_backend_param()), control_backend_name);
INSTANTIATE_TEST_SUITE_P(SqlCipher, AuditChainTamperConformance,
                         ::testing::Values(sqlcipher_control_backend_param()), control_backend_name);

TEST(SqlCipherControlStoreTest, TheFileNeedsItsKey) {
  SqlCipherControlBackend backend;
  {
    auto store = backend.open_sqlcipher();
    ASSERT_TRUE(store
                    ->add_user(UserRecord{"ana", Role::lawyer, false, 1},
                               AuditEvent{1, "admin:test", "user_added", "", {}})
                    .ok());
  }
  EXPECT_EQ(SqlCipherControlStore::open(backend.path(), random_key()).error().code, "wrong_key");
  EXPECT_TRUE(backend.open_sqlcipher()->find_user("ana").value().has_value());
}

}  // namespace
}  // namespace casefile::server::testing
