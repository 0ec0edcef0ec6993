// The translation unit that builds tests/support/precompiled_test_headers.hpp
// into the precompiled header the test executables reuse.
#include "tests/support/precompiled_test_headers.hpp"
