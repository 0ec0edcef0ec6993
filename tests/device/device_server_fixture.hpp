// A real casefiled on a fresh instance (loopback, real TLS) for the device
// library's network tests: users, enrolment payloads made as casefile-admin
// enrol makes them, and FieldDevices enrolled and certified through the real
// routes with the authority key (as casefile-admin certify does).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>

#include "crypto/key_file.hpp"
#include "device/enrolment.hpp"
#include "device/field_device.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "sync/device_authentication.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::device::testing {

namespace fs = std::filesystem;
using server::testing::CasefiledProcess;

inline constexpr const char* kAdminPassphrase = "correct horse battery staple";
inline constexpr const char* kDevicePassphrase = "lawyer's tablet passphrase";

inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class DeviceServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    server::InstanceRequest request;
    request.root = directory_.path() / "instance";
    request.admin_passphrase = kAdminPassphrase;
    auto summary = server::create_instance(request);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    summary_ = *summary;
    control_ = std::move(server::SqlCipherControlStore::open_in_instance(request.root).value());
    administration_ = std::make_unique<server::AccessAdministration>(*control_, "admin:test");
    ASSERT_TRUE(administration_->add_user("amina", server::Role::lawyer).ok());
    ASSERT_TRUE(administration_->add_user("bruno", server::Role::lawyer).ok());
    auto seed = crypto::load_key_file(server::InstanceLayout(request.root).authority_key(), kAdminPassphrase,
                                      crypto::kKeyFilePurposeOrgAuthority);
    ASSERT_TRUE(seed.ok()) << seed.error().message;
    authority_ =
        std::make_unique<crypto::Ed25519PrivateKey>(*crypto::Ed25519PrivateKey::from_seed(seed->view()));
    server_ = std::make_unique<CasefiledProcess>(server::InstanceLayout(request.root).config(),
                                                 directory_.path() / "casefiled.log", summary_.tls_spki_pin);
  }

  // The payload `casefile-admin enrol --user U` shows, for this server.
  std::string enrolment_payload(const std::string& user,
                                std::optional<crypto::Sha256Digest> pin = std::nullopt) {
    auto code = administration_->create_enrolment_code(user, std::chrono::minutes(15));
    EXPECT_TRUE(code.ok());
    return boost::json::serialize(
        boost::json::object{{"v", 1},
                            {"url", "https://127.0.0.1:" + std::to_string(server_->port())},
                            {"pin", sync::bytes_to_wire_text(pin.value_or(summary_.tls_spki_pin))},
                            {"authority", sync::bytes_to_wire_text(summary_.authority_fingerprint)},
                            {"code", code->text}});
  }

  ServerEndpoint endpoint() const {
    return ServerEndpoint{"https://127.0.0.1:" + std::to_string(server_->port()), "127.0.0.1",
                          server_->port(), summary_.tls_spki_pin};
  }

  FieldDevice new_device(const std::string& name) {
    auto device = FieldDevice::create(directory_.path() / name, kDevicePassphrase);
    if (!device.ok()) throw std::runtime_error("create failed: " + device.error().message);
    return std::move(*device);
  }

  // Enrolled with a fresh code of `user`, certified by the admin, and the
  // certificate fetched by the device.
  FieldDevice certified_device(const std::string& name, const std::string& user) {
    FieldDevice device = new_device(name);
    auto enrolled = enrol(device, enrolment_payload(user));
    if (!enrolled.ok()) throw std::runtime_error("enrol failed: " + enrolled.error().code);
    auto certified = administration_->certify_device(device.profile().device_id, *authority_);
    if (!certified.ok()) throw std::runtime_error("certify failed: " + certified.error().code);
    auto checked = check_certification(device);
    if (!checked.ok()) throw std::runtime_error("check_certification failed: " + checked.error().code);
    if (checked->state != EnrolmentState::certified) throw std::runtime_error("not certified");
    return device;
  }

  test_support::ScratchDirectory directory_;
  server::InstanceSummary summary_;
  std::unique_ptr<server::SqlCipherControlStore> control_;
  std::unique_ptr<server::AccessAdministration> administration_;
  std::unique_ptr<crypto::Ed25519PrivateKey> authority_;
  std::unique_ptr<CasefiledProcess> server_;
};

}  // namespace casefile::device::testing
