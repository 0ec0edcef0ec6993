// The Router casefiled builds (tools/casefiled/main.cpp, serve()): the
// operations, access, sync API and attachment route groups over real SQLCipher stores in a
// scratch directory, with a fresh authority key and TLS pin. No sockets:
// tests call router().match() and dispatch() with Request values.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "server/access/access_routes.hpp"
#include "server/access/access_service.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/attachments/attachment_endpoints.hpp"
#include "server/attachments/sqlcipher_upload_store.hpp"
#include "server/metrics.hpp"
#include "server/operations_routes.hpp"
#include "server/router.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/change_notifier.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "server/sync_api/statistics_snapshot.hpp"
#include "server/sync_api/sync_api_routes.hpp"
#include "server/sync_api/tls_pins_endpoint.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server::testing {

class CasefiledRouter {
 public:
  // `clock` is the access service's (token, challenge and code expiry); main.cpp
  // uses the system clock.
  explicit CasefiledRouter(AccessClock clock = system_clock_ms)
      : database_key_(test_support::random_database_key()),
        authority_(crypto::Ed25519PrivateKey::generate().value()),
        sync_store_(SqlcipherServerStore::open(sync_database(), database_key_).value()),
        control_(SqlCipherControlStore::open(control_database(), database_key_).value()),
        keys_(SqlcipherKeyWrapStore::open(keys_database(), database_key_).value()),
        access_(*control_, authority_.public_key(), tls_pin_, std::move(clock)),
        audit_([&control = *control_](const AuditEvent& event) { return control.append_audit(event); }),
        sync_(*sync_store_, notifier_, access_.authenticator(), audit_, metrics_),
        key_endpoints_(*keys_, access_.authenticator(), audit_, control_store_case_key_recipients(*control_)),
        statistics_([this] { return read_statistics_snapshot(sync_database(), database_key_); },
                    access_.authenticator(), audit_),
        uploads_(opening_lender(sync_database(), database_key_, database_key_mutex_)),
        attachments_(*sync_store_, uploads_, AttachmentFiles(directory_.file("attachments")),
                     access_.authenticator(), audit_, metrics_, AttachmentOptions{}, system_clock_ms) {
    if (!AttachmentFiles(directory_.file("attachments")).prepare().ok()) {
      throw std::runtime_error("cannot create the attachments directory");
    }
    Status routes = add_operations_routes(router_, metrics_, [] { return ok_status(); });
    if (routes.ok()) routes = register_access_routes(router_, access_);
    if (routes.ok()) {
      routes = register_sync_api_routes(router_, SyncApi{sync_, schema_, key_endpoints_, statistics_});
    }
    if (routes.ok()) routes = register_attachment_routes(router_, attachments_);
    if (routes.ok()) routes = register_tls_pins_route(router_, directory_.file("pins.statement"));
    if (!routes.ok()) throw std::runtime_error("route registration failed: " + routes.error().message);
  }

  Router& router() { return router_; }
  SqlCipherControlStore& control() { return *control_; }
  const crypto::Ed25519PrivateKey& authority() const { return authority_; }
  const crypto::Sha256Digest& tls_pin() const { return tls_pin_; }
  std::filesystem::path sync_database() const { return directory_.file("casefile.db"); }
  std::filesystem::path control_database() const { return directory_.file("control.db"); }
  std::filesystem::path keys_database() const { return key_wrap_database_path(sync_database()); }
  const crypto::SecretBytes& database_key() const { return database_key_; }

 private:
  static crypto::Sha256Digest random_pin() {
    crypto::Sha256Digest pin{};
    if (!crypto::fill_random(pin).ok()) throw std::runtime_error("random failed");
    return pin;
  }

  test_support::ScratchDirectory directory_;
  crypto::SecretBytes database_key_;
  crypto::Ed25519PrivateKey authority_;
  crypto::Sha256Digest tls_pin_ = random_pin();
  std::unique_ptr<SqlcipherServerStore> sync_store_;
  std::unique_ptr<SqlCipherControlStore> control_;
  std::unique_ptr<SqlcipherKeyWrapStore> keys_;
  MetricsRegistry metrics_;
  ChangeNotifier notifier_;
  AccessService access_;
  AuditRecorder audit_;
  SyncEndpoints sync_;
  const SchemaEndpoint schema_;
  KeyWrapEndpoints key_endpoints_;
  const StatisticsEndpoint statistics_;
  std::mutex database_key_mutex_;
  SqlcipherUploadStore uploads_;
  AttachmentEndpoints attachments_;
  Router router_;
};

}  // namespace casefile::server::testing
