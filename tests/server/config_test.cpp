#include "server/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace casefile::server {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

// What `casefile-admin init` writes (server/instance.cpp).
constexpr const char* kInstanceConfig = R"(# casefiled configuration
listen_address = "127.0.0.1"
listen_port = 8443
database = "casefile.db"
database_key_file = "database.key"
tls_certificate = "tls/server.crt"
tls_private_key = "tls/server.key"
authority_public_key = "org/authority.pub"
)";

TEST(ConfigTest, ReadsTheInstanceConfigWithPathsRelativeToTheFileAndDocumentedDefaults) {
  auto config = parse_config(kInstanceConfig, "/srv/casefile/casefiled.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listen_address, "127.0.0.1");
  EXPECT_EQ(config->listen_port, 8443);
  EXPECT_EQ(config->tls_certificate, fs::path("/srv/casefile/tls/server.crt"));
  EXPECT_EQ(config->tls_private_key, fs::path("/srv/casefile/tls/server.key"));
  EXPECT_EQ(config->database, fs::path("/srv/casefile/casefile.db"));
  const ServerConfig defaults;
  EXPECT_EQ(config->limits.max_connections, defaults.limits.max_connections);
  EXPECT_EQ(config->timeouts.header_read, defaults.timeouts.header_read);
  EXPECT_EQ(config->log_level, LogLevel::info);
}

TEST(ConfigTest, ReadsLimitsAndTimeoutsTables) {
  auto config = parse_config(R"(
tls_certificate = "/abs/cert.pem"
tls_private_key = "key.pem"
log_level = "debug"
[limits]
max_connections = 50
header_limit_bytes = 4096
body_limit_bytes = 1048576
max_pipelined_requests = 2
[timeouts]
header_read_seconds = 2.5
keep_alive_idle_seconds = 30
)",
                             "/etc/casefiled.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->tls_certificate, fs::path("/abs/cert.pem"));
  EXPECT_EQ(config->tls_private_key, fs::path("/etc/key.pem"));
  EXPECT_EQ(config->log_level, LogLevel::debug);
  EXPECT_EQ(config->limits.max_connections, 50u);
  EXPECT_EQ(config->limits.header_limit_bytes, 4096u);
  EXPECT_EQ(config->limits.body_limit_bytes, 1048576u);
  EXPECT_EQ(config->limits.max_pipelined_requests, 2u);
  EXPECT_EQ(config->timeouts.header_read, milliseconds(2500));
  EXPECT_EQ(config->timeouts.keep_alive_idle, milliseconds(30000));
}

TEST(ConfigTest, RefusesUnknownKeysNamingTheKeyAndLine) {
  for (const char* text : {"listen_prot = 8443\n", "[limits]\nmax_conections = 5\n",
                           "[timeout]\nwrite_seconds = 1\n", "[timeouts]\nmax_connections = 5\n"}) {
    auto config = parse_config(text, "/x/casefiled.toml");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().code, "invalid_config");
    EXPECT_NE(config.error().message.find("unknown key"), std::string::npos) << config.error().message;
    EXPECT_NE(config.error().message.find("casefiled.toml:"), std::string::npos) << config.error().message;
  }
}

TEST(ConfigTest, RefusesValuesOfTheWrongTypeOrOutOfRange) {
  for (const char* text : {
           "listen_port = \"8443\"\n",
           "listen_port = 0\n",
           "listen_port = 70000\n",
           "listen_address = 5\n",
           "log_level = \"loud\"\n",
           "[limits]\nmax_connections = 0\n",
           "[limits]\nmax_connections = -1\n",
           "[limits]\nheader_limit_bytes = 10\n",
           "[limits]\nmax_pipelined_requests = 1.5\n",
           "[timeouts]\nwrite_seconds = 0\n",
           "[timeouts]\nwrite_seconds = \"fast\"\n",
           "[timeouts]\nwrite_seconds = nan\n",
           "listen_port = 8443\nlisten_port = 8444\n",  // TOML forbids redefinition
           "this is not toml",
       }) {
    auto config = parse_config(text, "/x/casefiled.toml");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().code, "invalid_config") << text;
  }
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        fs::temp_directory_path() / ("casefile-config-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(directory_);
    std::ofstream(directory_ / "casefiled.toml") << kInstanceConfig;
  }
  void TearDown() override { fs::remove_all(directory_); }
  fs::path directory_;
};

TEST_F(ConfigFileTest, FlagsOverrideTheFileInBothSpellings) {
  const std::string file = (directory_ / "casefiled.toml").string();
  auto config = config_from_command_line({"--listen-port", "9443", "--config", file, "--max-connections=7",
                                          "--header-read-seconds", "0.5", "--tls-certificate", "/other.crt"});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listen_port, 9443);
  EXPECT_EQ(config->limits.max_connections, 7u);
  EXPECT_EQ(config->timeouts.header_read, milliseconds(500));
  EXPECT_EQ(config->tls_certificate, fs::path("/other.crt"));
  EXPECT_EQ(config->tls_private_key, directory_ / "tls/server.key");
}

TEST_F(ConfigFileTest, RefusesUnknownFlagsBadFlagValuesAndMissingFiles) {
  const std::string file = (directory_ / "casefiled.toml").string();
  EXPECT_EQ(config_from_command_line({"--config", file, "--listen-prot", "1"}).error().code,
            "invalid_config");
  EXPECT_EQ(config_from_command_line({"--config", file, "--listen-port", "84x3"}).error().code,
            "invalid_config");
  EXPECT_EQ(config_from_command_line({"--config", file, "--listen-port"}).error().code, "invalid_config");
  EXPECT_EQ(config_from_command_line({"--config", file, "stray"}).error().code, "invalid_config");
  EXPECT_EQ(config_from_command_line({"--config", (directory_ / "missing.toml").string()}).error().code,
            "io_error");
  // Without a file, the TLS pair must come from flags.
  EXPECT_EQ(config_from_command_line({"--listen-port", "9443"}).error().code, "invalid_config");
}

TEST(ConfigTest, HelpListsEveryFlag) {
  const std::string help = command_line_help();
  for (const char* flag : {"--config", "--listen-port", "--max-connections", "--body-limit-bytes",
                           "--keep-alive-idle-seconds", "--drain-seconds", "--log-level"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace casefile::server
