// The conformance suite every ControlStore backend must pass: SQLCipher
// (server_access_tests) and PostgreSQL (postgres_server_store_tests). Each
// table's rules, one transaction per mutation and its audit entry, and a hash
// chain that exposes edited, deleted and reordered history.
//
// A backend plugs in with a ControlStoreBackend and one line:
//   INSTANTIATE_TEST_SUITE_P(Postgres, ControlStoreConformance,
//                            ::testing::Values(postgres_control_backend_param()), control_backend_name);
// and links control_store_conformance.cpp (the TEST_P bodies).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "crypto/bytes.hpp"
#include "server/access/control_store.hpp"

namespace casefile::server::testing {

// Where one test's control data lives; open() may be called again after the
// store it returned was destroyed (a restart).
class ControlStoreBackend {
 public:
  virtual ~ControlStoreBackend() = default;
  virtual std::unique_ptr<ControlStore> open() = 0;
  // Runs SQL on the data behind the store's back, as the store's own role
  // could. REQUIRES: no store is open. Returns whether it succeeded.
  virtual bool execute(const std::string& sql) = 0;
  // The same with the audit log's append-only guards switched off first: an
  // attacker with full access to the database. Fails the test on error.
  virtual void tamper(const std::string& sql) = 0;
  // `bytes` as a literal of the backend's SQL dialect.
  virtual std::string blob_literal(crypto::ByteView bytes) = 0;
};

struct ControlStoreBackendParam {
  std::string name;
  std::function<std::unique_ptr<ControlStoreBackend>()> make;  // a fresh, empty backend
};

inline std::string control_backend_name(const ::testing::TestParamInfo<ControlStoreBackendParam>& info) {
  return info.param.name;
}

class ControlStoreConformance : public ::testing::TestWithParam<ControlStoreBackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    store_ = backend_->open();
  }
  void TearDown() override { store_.reset(); }
  void reopen() {
    store_.reset();
    store_ = backend_->open();
  }

  std::unique_ptr<ControlStoreBackend> backend_;
  std::unique_ptr<ControlStore> store_;
};

// Four audit entries, then the store closed: a test edits them behind its
// back and verifies the chain.
class AuditChainTamperConformance : public ControlStoreConformance {
 protected:
  void SetUp() override {
    ControlStoreConformance::SetUp();
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(
          store_->append_audit(AuditEvent{1000, "admin:test", "event_" + std::to_string(i), "", {{"n", 1}}})
              .ok());
    }
    ASSERT_EQ(store_->verify_audit_chain().value().entries, 4);
    store_.reset();  // closes the connection
  }
  Error verify_after(const std::string& sql) {
    backend_->tamper(sql);
    store_ = backend_->open();
    auto report = store_->verify_audit_chain();
    return report.ok() ? Error{} : report.error();
  }
};

}  // namespace casefile::server::testing
