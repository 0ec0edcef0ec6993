// casefiled with `store.kind = "postgres"` refuses to start, naming what is not
// built yet, rather than running half on PostgreSQL; and the connection
// string's password appears in none of its output.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/shell_command.hpp"

namespace casefile::server {
namespace {

TEST(CasefiledStoreChoice, PostgresIsRefusedAtStartupWithoutRepeatingTheConnectionString) {
  const std::string command =
      std::string(CASEFILED_BINARY) +
      " --tls-certificate /nonexistent/server.crt --tls-private-key /nonexistent/server.key"
      " --store postgres --postgres-url 'host=127.0.0.1 password=hunter2-secret' 2>&1";
  const test_support::CommandRun run = test_support::run_shell_command(command);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("store_not_built"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("control store"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("hunter2"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace casefile::server
