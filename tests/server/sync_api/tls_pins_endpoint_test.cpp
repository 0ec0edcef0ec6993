// GET /v1/tls-pins serves the instance's signed statement file as it is now:
// 404 before one is issued, the statement once it is, and 503 (never the
// file's bytes) when the file is not a statement.
#include "server/sync_api/tls_pins_endpoint.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "sync/tls_pin_statement.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server {
namespace {

class TlsPinsEndpoint : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(register_tls_pins_route(router_, file_).ok()); }

  Response get() {
    auto match = router_.match("GET", "/v1/tls-pins");
    EXPECT_TRUE(match.ok());
    Request request;
    request.method = "GET";
    request.target = request.path = "/v1/tls-pins";
    return router_.dispatch(*match, request);
  }

  void write(const std::string& text) { std::ofstream(file_, std::ios::trunc) << text; }

  test_support::ScratchDirectory directory_;
  std::filesystem::path file_ = tls_pin_statement_path(directory_.file("server.crt"));
  Router router_;
};

TEST_F(TlsPinsEndpoint, AnswersNotFoundThenTheStatementAsTheFileNowHoldsIt) {
  EXPECT_EQ(get().status, 404u);
  auto authority = crypto::Ed25519PrivateKey::generate().value();
  sync::TlsPinStatement statement;
  statement.sequence = 3;
  statement.current_pin.fill(0x11);
  const std::string text =
      sync::tls_pin_statement_to_text(sync::sign_tls_pin_statement(statement, authority).value());
  write(text + "\n");
  const Response answered = get();
  ASSERT_EQ(answered.status, 200u);
  EXPECT_EQ(boost::json::parse(answered.body).at("statement").as_string(), text);
}

TEST_F(TlsPinsEndpoint, AFileThatIsNotAStatementIsUnavailableAndNotEchoed) {
  for (const std::string& contents : {std::string("not a statement"), std::string(100'000, 'A')}) {
    write(contents);
    const Response answered = get();
    EXPECT_EQ(answered.status, 503u);
    EXPECT_NE(answered.body.find("tls_pins_unavailable"), std::string::npos);
    EXPECT_EQ(answered.body.find(contents.substr(0, 10)), std::string::npos);
  }
}

}  // namespace
}  // namespace casefile::server
