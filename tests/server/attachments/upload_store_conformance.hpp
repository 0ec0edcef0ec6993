// The conformance suite every UploadStore backend must pass: SQLCipher
// (upload_store_tests) and PostgreSQL (postgres_server_store_tests). A
// backend plugs in with an UploadStoreBackend and one line:
//   INSTANTIATE_TEST_SUITE_P(Postgres, UploadStoreConformance,
//                            ::testing::Values(postgres_upload_backend_param()), upload_backend_name);
// and links upload_store_conformance.cpp (the TEST_P bodies).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "server/attachments/upload_store.hpp"

namespace casefile::server::testing {

// Where one test's upload rows live; open() may be called several times, and
// every store it returns shares the rows (as casefiled instances do).
class UploadStoreBackend {
 public:
  virtual ~UploadStoreBackend() = default;
  virtual std::unique_ptr<UploadStore> open() = 0;
};

struct UploadStoreBackendParam {
  std::string name;
  std::function<std::unique_ptr<UploadStoreBackend>()> make;  // a fresh, empty backend
};

inline std::string upload_backend_name(const ::testing::TestParamInfo<UploadStoreBackendParam>& info) {
  return info.param.name;
}

class UploadStoreConformance : public ::testing::TestWithParam<UploadStoreBackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    store_ = backend_->open();
  }

  std::unique_ptr<UploadStoreBackend> backend_;
  std::unique_ptr<UploadStore> store_;
};

}  // namespace casefile::server::testing
