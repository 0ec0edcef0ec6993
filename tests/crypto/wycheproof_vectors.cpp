#include "tests/crypto/wycheproof_vectors.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace casefile::crypto::testing {

boost::json::object load_wycheproof(std::string_view file_name) {
  const std::string path = std::string(CASEFILE_TESTVECTORS_DIR) + "/wycheproof/" + std::string(file_name);
  std::ifstream input(path, std::ios::binary);
  if (!input) throw std::runtime_error("missing test vector file " + path);
  std::stringstream text;
  text << input.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

std::size_t for_each_wycheproof_test(
    const boost::json::object& file,
    const std::function<void(const boost::json::object& group, const boost::json::object& test)>& check) {
  std::size_t count = 0;
  for (const auto& group : file.at("testGroups").as_array()) {
    for (const auto& test : group.at("tests").as_array()) {
      check(group.as_object(), test.as_object());
      ++count;
    }
  }
  return count;
}

std::size_t declared_test_count(const boost::json::object& file) {
  return static_cast<std::size_t>(file.at("numberOfTests").to_number<std::int64_t>());
}

Bytes hex_field(const boost::json::object& object, std::string_view key) {
  Bytes bytes;
  if (!from_hex(object.at(key).as_string(), bytes))
    throw std::runtime_error("bad hex in " + std::string(key));
  return bytes;
}

std::string string_field(const boost::json::object& object, std::string_view key) {
  return std::string(object.at(key).as_string());
}

std::size_t size_field(const boost::json::object& object, std::string_view key) {
  return static_cast<std::size_t>(object.at(key).to_number<std::int64_t>());
}

std::string describe(const boost::json::object& test) {
  return "tcId " + std::to_string(test.at("tcId").to_number<std::int64_t>()) + " (" +
         string_field(test, "comment") + ")";
}

}  // namespace casefile::crypto::testing
