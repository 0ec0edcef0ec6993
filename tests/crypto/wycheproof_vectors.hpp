// Loading Project Wycheproof JSON files (C2SP/wycheproof, testvectors_v1).
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"

namespace casefile::crypto::testing {

// Parses CASEFILE_TESTVECTORS_DIR/wycheproof/<file_name>. Throws (so the
// test fails, never skips) when the file is missing or not JSON.
boost::json::object load_wycheproof(std::string_view file_name);

// Calls `check(group, test)` for every test of every group and returns how
// many tests it saw, for comparison with the file's numberOfTests.
std::size_t for_each_wycheproof_test(
    const boost::json::object& file,
    const std::function<void(const boost::json::object& group, const boost::json::object& test)>& check);

// The declared total, "numberOfTests".
std::size_t declared_test_count(const boost::json::object& file);

// A hex string field decoded; throws on bad hex.
Bytes hex_field(const boost::json::object& object, std::string_view key);
std::string string_field(const boost::json::object& object, std::string_view key);
std::size_t size_field(const boost::json::object& object, std::string_view key);

// "tcId 12 (comment)", for failure messages.
std::string describe(const boost::json::object& test);

}  // namespace casefile::crypto::testing
