# Build-speed choices for the sanitizer tree that `make test` builds from a
# clean clone on two cores (docs/testing-e2e.md, "Build time", has the
# measurements behind each one). None of them changes what a test checks: every
# test still builds and runs under ASan and UBSan.

# Debug information. At -O1 (casefile_sync, sync_property_tests) GCC spends
# a third to two fifths of a translation unit on DWARF and variable-location
# tracking (11.1 s against 6.3 s of CPU for sync/device_authentication.cpp), and the objects
# every test executable links are smaller. -g1 keeps what the sanitizers print:
# function names, files and lines in every stack trace. CASEFILE_FULL_DEBUG_INFO=ON
# restores -g for a session in gdb; a Debug build without the sanitizers keeps -g.
option(CASEFILE_FULL_DEBUG_INFO "Full -g debug information in the sanitizer build" OFF)
if(CASEFILE_SANITIZE AND NOT CASEFILE_FULL_DEBUG_INFO)
  # After CMAKE_CXX_FLAGS_DEBUG's -g on the command line; GCC and Clang take the last level.
  add_compile_options($<$<CONFIG:Debug>:-g1>)
endif()

# The linker. lld links casefiled in under half the CPU time of GNU ld (1.8 s
# against 4.0 s, ASan Debug), and there are some thirty ASan executables; it
# is Debian's lld package (tools/install-deps). Without it, GNU ld as before.
include(CheckLinkerFlag)
check_linker_flag(CXX -fuse-ld=lld CASEFILE_HAVE_LLD)
if(CASEFILE_HAVE_LLD)
  add_link_options(-fuse-ld=lld)
endif()

# Boost.Asio and Boost.Beast compiled once. Header-only, every translation unit
# that includes them (the server transport, the device's HTTPS client, the
# benchmarks and the tests that speak HTTPS, 30 to 70 CPU-seconds each under
# the sanitizers) compiles their non-template code again, about a tenth of
# its time. With
# BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION that code
# is compiled once, in casefile_boost_asio (cmake/boost_asio_beast.cpp). The
# definitions are its PUBLIC usage requirements, so every target that links it,
# directly or through casefile_server or casefile_device, includes Asio and
# Beast the same way. A target that links none of them compiles Asio and Beast
# inline, as before: slower, not wrong.
add_library(casefile_boost_asio STATIC ${CMAKE_CURRENT_LIST_DIR}/boost_asio_beast.cpp)
target_compile_definitions(casefile_boost_asio
  PUBLIC BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION)
target_link_libraries(casefile_boost_asio PUBLIC Boost::headers OpenSSL::SSL Threads::Threads)
