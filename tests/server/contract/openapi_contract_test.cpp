// docs/openapi.yaml against the routes casefiled registers: every registered
// (method, template) is documented, and every documented path and method is
// served. The YAML is read line by line: a path is a line "  /...:" under
// "paths:", a method a line "    get:" (or post, put, delete) below it.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "tests/server/contract/casefiled_router.hpp"

namespace casefile::server::testing {
namespace {

using Operation = std::pair<std::string, std::string>;  // (METHOD, template)

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// The documented operations; an unreadable file fails the calling test.
std::set<Operation> documented_operations() {
  std::ifstream in(CASEFILE_OPENAPI_FILE);
  EXPECT_TRUE(in.good()) << "cannot read " << CASEFILE_OPENAPI_FILE;
  const std::regex path_line(R"(^  (/[^:\s]*):\s*$)");
  const std::regex method_line(R"(^    (get|post|put|delete|patch|head|options):\s*$)");
  std::set<Operation> operations;
  std::string line;
  std::string current_path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() != ' ' && line.front() != '#') {
      in_paths = line.rfind("paths:", 0) == 0;
      current_path.clear();
      continue;
    }
    if (!in_paths) continue;
    std::smatch match;
    if (std::regex_match(line, match, path_line)) {
      current_path = match[1];
    } else if (!current_path.empty() && std::regex_match(line, match, method_line)) {
      operations.emplace(upper(match[1]), current_path);
    }
  }
  return operations;
}

std::set<Operation> registered_operations(const Router& router) {
  std::set<Operation> operations;
  for (const auto& [method, path_template] : router.routes()) operations.emplace(method, path_template);
  return operations;
}

TEST(OpenApiContractTest, EveryRegisteredRouteIsDocumented) {
  CasefiledRouter casefiled;
  const auto documented = documented_operations();
  const auto registered = registered_operations(casefiled.router());
  ASSERT_FALSE(registered.empty());
  for (const auto& [method, path_template] : registered) {
    EXPECT_TRUE(documented.contains({method, path_template}))
        << method << " " << path_template << " is served but not in docs/openapi.yaml";
  }
}

TEST(OpenApiContractTest, EveryDocumentedOperationIsServed) {
  CasefiledRouter casefiled;
  const auto documented = documented_operations();
  const auto registered = registered_operations(casefiled.router());
  ASSERT_FALSE(documented.empty()) << "no operations parsed from " << CASEFILE_OPENAPI_FILE;
  for (const auto& [method, path_template] : documented) {
    EXPECT_TRUE(registered.contains({method, path_template}))
        << method << " " << path_template << " is in docs/openapi.yaml but casefiled does not serve it";
  }
}

TEST(OpenApiContractTest, RouterListsItsRoutesInRegistrationOrder) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/b", [](const Request&) { return Response{}; }).ok());
  ASSERT_TRUE(router.add("POST", "/a/{id}", [](const Request&) { return Response{}; }).ok());
  const std::vector<Operation> expected = {{"GET", "/b"}, {"POST", "/a/{id}"}};
  EXPECT_EQ(router.routes(), expected);
}

}  // namespace
}  // namespace casefile::server::testing
