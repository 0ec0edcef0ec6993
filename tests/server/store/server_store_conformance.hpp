// The conformance suite every sync::ServerStore backend must pass: the
// in-memory twin, SQLCipher, and (later) PostgreSQL.
//
// A backend plugs in with a ServerStoreBackend (storage that outlives the
// store objects opened on it) and one INSTANTIATE_TEST_SUITE_P line:
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, ServerStoreConformance,
//                            ::testing::Values(ServerStoreBackendParam{"postgres", make_postgres_backend}),
//                            backend_name);
//
// Link server_store_conformance.cpp (the TEST_P bodies) into the test binary.
// A backend that keeps data outside the test process (a file, a server) also
// instantiates ServerStoreCrashConformance: SIGKILLed writers, then reopen.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "sync/store.hpp"

namespace casefile::server::testing {

// Where one test's data lives. open() may be called again after every store
// it returned was destroyed: that is a restart, and a durable backend must
// show everything it acknowledged before.
class ServerStoreBackend {
 public:
  virtual ~ServerStoreBackend() = default;
  // A store over this backend's data. Must be safe to call from any thread,
  // and in a child process forked while no store is open.
  virtual std::unique_ptr<sync::ServerStore> open() = 0;
};

struct ServerStoreBackendParam {
  std::string name;
  std::function<std::unique_ptr<ServerStoreBackend>()> make;  // a fresh, empty backend
};

inline std::string backend_name(const ::testing::TestParamInfo<ServerStoreBackendParam>& info) {
  return info.param.name;
}

class ServerStoreConformance : public ::testing::TestWithParam<ServerStoreBackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    store_ = backend_->open();
  }
  void TearDown() override { store_.reset(); }

  // Closes the store and opens it again on the same data.
  void restart() {
    store_.reset();
    store_ = backend_->open();
  }

  std::unique_ptr<ServerStoreBackend> backend_;
  std::unique_ptr<sync::ServerStore> store_;
};

// Tests that kill a process writing through the backend. The parent process
// holds no open store while it forks.
class ServerStoreCrashConformance : public ::testing::TestWithParam<ServerStoreBackendParam> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }

  std::unique_ptr<ServerStoreBackend> backend_;
};

}  // namespace casefile::server::testing
