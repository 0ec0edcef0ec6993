// The one translation unit that compiles Boost.Asio's, Asio SSL's and
// Boost.Beast's non-template code (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION, set on every target by
// cmake/CasefileBuildSpeed.cmake). Without it each file that includes Asio or
// Beast compiles all of it again; docs/testing-e2e.md, "Build time of make test".
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
