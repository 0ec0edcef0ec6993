// The precompiled header of every test executable (tests/CMakeLists.txt,
// casefile_add_test): GoogleTest, Boost.JSON and the standard headers most
// tests include. Parsing them took two to three of a test file's six CPU-seconds
// under the sanitizers; compiled once, every test file loads them instead
// (docs/testing-e2e.md, "Build time of make test"). Only third-party and
// standard headers belong here, so that a change to the project's own headers
// does not rebuild it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
