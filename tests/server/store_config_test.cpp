// The [store] keys of casefiled's config: which sync store, and PostgreSQL's
// connection string, parsed strictly and checked together once every source
// (file, then flags) is applied.
#include <gtest/gtest.h>

#include "server/config.hpp"

namespace casefile::server {
namespace {

constexpr const char* kTls = "--tls-certificate=/c.pem";
constexpr const char* kTlsKey = "--tls-private-key=/k.pem";

TEST(StoreConfigTest, DefaultsToSqlcipherWithoutAUrl) {
  auto config = config_from_command_line({kTls, kTlsKey});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->store.kind, StoreKind::sqlcipher);
  EXPECT_TRUE(config->store.postgres_url.empty());
}

TEST(StoreConfigTest, ReadsTheStoreTable) {
  auto config = parse_config(R"(
[store]
kind = "postgres"
postgres_url = "postgresql://casefile@db.internal/casefile?sslmode=verify-full"
)",
                             "/srv/casefile/casefiled.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->store.kind, StoreKind::postgres);
  EXPECT_EQ(config->store.postgres_url, "postgresql://casefile@db.internal/casefile?sslmode=verify-full");
}

TEST(StoreConfigTest, RefusesAnUnknownKindAWrongTypeAndUnknownStoreKeys) {
  auto unknown_kind = parse_config("[store]\nkind = \"mysql\"\n", "casefiled.toml");
  ASSERT_FALSE(unknown_kind.ok());
  EXPECT_EQ(unknown_kind.error().code, "invalid_config");
  EXPECT_NE(unknown_kind.error().message.find("store.kind"), std::string::npos);
  EXPECT_FALSE(parse_config("[store]\nkind = 1\n", "casefiled.toml").ok());
  EXPECT_FALSE(parse_config("[store]\npostgres_url = \"\"\n", "casefiled.toml").ok());
  auto typo = parse_config("[store]\npostgres_uri = \"host=x\"\n", "casefiled.toml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("store.postgres_uri"), std::string::npos);
}

TEST(StoreConfigTest, PostgresNeedsAUrlAndAUrlNeedsPostgres) {
  EXPECT_EQ(config_from_command_line({kTls, kTlsKey, "--store", "postgres"}).error().code, "invalid_config");
  EXPECT_EQ(config_from_command_line({kTls, kTlsKey, "--postgres-url", "host=x"}).error().code,
            "invalid_config");
  auto both = config_from_command_line({kTls, kTlsKey, "--store=postgres", "--postgres-url", "host=db"});
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->store.kind, StoreKind::postgres);
  EXPECT_EQ(both->store.postgres_url, "host=db");
}

TEST(StoreConfigTest, ErrorsNeverRepeatTheConnectionString) {
  const std::string secret_url = "host=db password=hunter2-secret";
  // A URL with the sqlcipher store is refused; the message names the key, not its value.
  auto refused = config_from_command_line({kTls, kTlsKey, "--postgres-url", secret_url});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.find("hunter2"), std::string::npos) << refused.error().message;
}

TEST(StoreConfigTest, HelpListsTheStoreFlags) {
  const std::string help = command_line_help();
  EXPECT_NE(help.find("--store"), std::string::npos);
  EXPECT_NE(help.find("--postgres-url"), std::string::npos);
}

}  // namespace
}  // namespace casefile::server
