// casefiled: the HTTPS sync server. `casefiled --config var/casefiled.toml`.
// Opens the instance's SQLCipher stores (casefile.db, control.db, keys.db,
// all under database.key), or with [store] kind = "postgres" the same stores
// on PostgreSQL (docs/scale.md), then serves the operations routes, identity and
// access, the sync API and attachments (attachments/ beside casefile.db) on
// one Router. docs/operations.md describes flags,
// logs and signals; docs/protocol.md every route.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/tls_identity.hpp"
#include "schema/database.hpp"
#include "server/access/access_routes.hpp"
#include "server/access/access_service.hpp"
#include "server/access/credential_sweeper.hpp"
#include "server/access/postgres_control_store.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/attachments/attachment_endpoints.hpp"
#include "server/attachments/postgres_upload_store.hpp"
#include "server/attachments/sqlcipher_upload_store.hpp"
#include "server/attachments/upload_sweeper.hpp"
#include "server/config.hpp"
#include "server/http_server.hpp"
#include "server/json_logger.hpp"
#include "server/metrics.hpp"
#include "server/operations_routes.hpp"
#include "server/router.hpp"
#include "server/store/instance_epoch.hpp"
#include "server/store/postgres_change_listener.hpp"
#include "server/store/postgres_key_wrap_store.hpp"
#include "server/store/postgres_server_store.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/database_key_rotation.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "server/sync_api/statistics_snapshot.hpp"
#include "server/sync_api/sync_api_routes.hpp"
#include "server/sync_api/tls_pins_endpoint.hpp"

namespace {

using namespace casefile;
using namespace casefile::server;

std::string listen_url(const ServerConfig& config, unsigned short port) {
  const bool ipv6 = config.listen_address.find(':') != std::string::npos;
  return "https://" + (ipv6 ? "[" + config.listen_address + "]" : config.listen_address) + ":" +
         std::to_string(port);
}

Result<crypto::Sha256Digest> certificate_pin(const std::filesystem::path& certificate_file) {
  std::ifstream in(certificate_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return crypto::spki_sha256_pin(text.str());
}

Result<crypto::Ed25519PublicKey> read_authority_public_key(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string hex;
  std::getline(in, hex);
  crypto::Bytes bytes;
  crypto::Ed25519PublicKey key{};
  if (!in || !crypto::from_hex(hex, bytes) || bytes.size() != key.size()) {
    return make_error("corrupt_instance", "not a hex Ed25519 public key: " + file.string());
  }
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

// The instance's stores, open for the life of the process: its SQLCipher
// files, or the PostgreSQL database that several instances share
// (docs/scale.md). The typed pointers reach what only one kind has
// (SQLCipher's database-key rotation, PostgreSQL's record scan and epoch).
struct InstanceStores {
  std::unique_ptr<sync::ServerStore> sync;
  std::unique_ptr<ControlStore> control;
  std::unique_ptr<KeyWrapStore> keys;
  std::unique_ptr<UploadStore> uploads;  // PostgreSQL only; SQLCipher's is made in serve()
  SqlcipherServerStore* sqlcipher_sync = nullptr;
  SqlCipherControlStore* sqlcipher_control = nullptr;
  SqlcipherKeyWrapStore* sqlcipher_keys = nullptr;
  PostgresServerStore* postgres_sync = nullptr;
  crypto::SecretBytes database_key;  // SQLCipher only
};

Result<InstanceStores> open_sqlcipher_stores(const ServerConfig& config) {
  if (config.database.empty() || config.database_key_file.empty()) {
    return make_error("invalid_config", "database and database_key_file are required");
  }
  auto key = read_database_key_file(config.database_key_file);
  if (!key.ok()) return std::move(key).error();
  InstanceStores stores;
  auto sync = SqlcipherServerStore::open(config.database, *key);
  if (!sync.ok()) return std::move(sync).error();
  auto control = SqlCipherControlStore::open(config.database.parent_path() / "control.db", *key);
  if (!control.ok()) return std::move(control).error();
  auto keys = SqlcipherKeyWrapStore::open(key_wrap_database_path(config.database), *key);
  if (!keys.ok()) return std::move(keys).error();
  stores.sqlcipher_sync = sync->get();
  stores.sqlcipher_control = control->get();
  stores.sqlcipher_keys = keys->get();
  stores.sync = std::move(sync).value();
  stores.control = std::move(control).value();
  stores.keys = std::move(keys).value();
  stores.database_key = std::move(key).value();
  return stores;
}

// Every store on the one database; each applies the PostgreSQL migrations
// (idempotent, locked against instances starting at once).
Result<InstanceStores> open_postgres_stores(const ServerConfig& config) {
  if (config.database.empty()) return make_error("invalid_config", "database is required");
  const std::string& url = config.store.postgres_url;
  InstanceStores stores;
  auto sync = PostgresServerStore::open(url);
  if (!sync.ok()) return std::move(sync).error();
  auto control = PostgresControlStore::open(url);
  if (!control.ok()) return std::move(control).error();
  auto keys = PostgresKeyWrapStore::open(url);
  if (!keys.ok()) return std::move(keys).error();
  auto uploads = PostgresUploadStore::open(url);
  if (!uploads.ok()) return std::move(uploads).error();
  stores.postgres_sync = sync->get();
  stores.sync = std::move(sync).value();
  stores.control = std::move(control).value();
  stores.keys = std::move(keys).value();
  stores.uploads = std::move(uploads).value();
  return stores;
}

Result<InstanceStores> open_stores(const ServerConfig& config) {
  return config.store.kind == StoreKind::postgres ? open_postgres_stores(config)
                                                  : open_sqlcipher_stores(config);
}

// Every live record statistics read, from the PostgreSQL store.
Result<StatisticsSnapshot> read_postgres_statistics(PostgresServerStore& store) {
  StatisticsSnapshot snapshot;
  for (const char* collection : kStatisticsCollections) {
    Status read =
        store.for_each_record(collection, [&](sync::RecordState state) { snapshot.add(std::move(state)); });
    if (!read.ok()) return std::move(read).error();
  }
  return snapshot;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A database-key rotation that a crash or a stopped casefiled left between
// its steps (database.key.next present) is finished before the stores open.
Result<bool> finish_interrupted_rotation(const ServerConfig& config, const JsonLogger& logger) {
  std::error_code error;
  if (!std::filesystem::exists(next_database_key_path(config.database_key_file), error)) return false;
  std::vector<RotatingDatabase> databases;
  for (const auto& file : instance_database_files(config.database))
    databases.push_back(closed_database(file));
  CASEFILE_RETURN_IF_ERROR(finish_database_key_rotation(config.database_key_file, databases));
  logger.info("database_key_rotation_finished", {{"at", "start"}});
  return true;
}

// casefiled.pid in the instance (beside casefile.db): how casefile-admin
// finds the running server to ask it for a database-key rotation (SIGUSR1).
class PidFile {
 public:
  explicit PidFile(std::filesystem::path path) : path_(std::move(path)) {
    std::ofstream out(path_, std::ios::trunc);
    out << ::getpid() << "\n";
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  ~PidFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

 private:
  std::filesystem::path path_;
};

// Waits for SIGUSR1 on its own thread and runs `on_signal` for each.
// REQUIRES: SIGUSR1 is blocked in every thread (serve() blocks it first).
class UserSignalListener {
 public:
  explicit UserSignalListener(std::function<void()> on_signal)
      : on_signal_(std::move(on_signal)), thread_([this] { run(); }) {}
  UserSignalListener(const UserSignalListener&) = delete;
  UserSignalListener& operator=(const UserSignalListener&) = delete;
  ~UserSignalListener() {
    stopping_ = true;
    ::pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  void run() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
      int signal_number = 0;
      if (::sigwait(&set, &signal_number) != 0) continue;
      if (stopping_) return;
      on_signal_();
    }
  }

  std::function<void()> on_signal_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once everything above exists
};

// Authors of relayed batches (docs/operations.md, "Devices heal a restored
// server"): any device the authority certified, revoked ones included, since
// what a healing device relays was signed while the certificate was valid.
sync::CertifiedAuthorKey relayed_author_keys(ControlStore& control) {
  return [&control](const sync::DeviceId& author) -> Result<std::optional<crypto::Ed25519PublicKey>> {
    auto device = control.find_device(author);
    if (!device.ok()) return make_error("store_unavailable", "control store: " + device.error().message);
    if (!*device || (*device)->certificate.empty()) return std::optional<crypto::Ed25519PublicKey>();
    return std::optional((*device)->signing_public_key);
  };
}

int startup_failed(const JsonLogger& logger, const Error& error) {
  logger.error("startup_failed", {{"code", error.code}, {"message", error.message}});
  std::cerr << "casefiled: " << error.message << " (" << error.code << ")\n";
  return 1;
}

int serve(const std::vector<std::string>& arguments) {
  auto config = config_from_command_line(arguments);
  if (!config.ok()) {
    JsonLogger(LogLevel::error)
        .error("config_refused", {{"code", config.error().code}, {"message", config.error().message}});
    std::cerr << "casefiled: " << config.error().message << "\n";
    return 2;
  }
  const JsonLogger logger(config->log_level);
  const bool on_postgres = config->store.kind == StoreKind::postgres;
  // Before any thread starts, so that only the rotation listener takes it.
  sigset_t user_signal;
  sigemptyset(&user_signal);
  sigaddset(&user_signal, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &user_signal, nullptr);
  auto authority = read_authority_public_key(config->authority_public_key);
  if (!authority.ok()) return startup_failed(logger, authority.error());
  auto pin = certificate_pin(config->tls_certificate);
  if (!pin.ok()) return startup_failed(logger, pin.error());
  // The database key protects the SQLCipher files only.
  auto finished = on_postgres ? Result<bool>(false) : finish_interrupted_rotation(*config, logger);
  if (!finished.ok()) return startup_failed(logger, finished.error());
  auto stores = open_stores(*config);
  if (!stores.ok()) return startup_failed(logger, stores.error());
  if (*finished) {
    Status audited = stores->control->append_audit(
        AuditEvent{now_ms(), "casefiled", "database_key_rotated", "", {{"finished_at_start", true}}});
    if (!audited.ok()) return startup_failed(logger, audited.error());
  }

  MetricsRegistry metrics;
  auto recovery_statement =
      read_recovery_key_statement(config->authority_public_key.parent_path(), *authority);
  if (!recovery_statement.ok()) return startup_failed(logger, recovery_statement.error());
  AccessServiceOptions access_options;
  access_options.recovery_key_statement = *recovery_statement;
  AccessService access(*stores->control, *authority, *pin, system_clock_ms, access_options);
  // Expired enrolment codes, challenges and tokens serve no request: sweep them.
  CredentialSweeper credential_sweeper(*stores->control, logger, std::chrono::minutes(10));
  ChangeNotifier notifier;
  // Other instances' commits wake this one's parked pulls (docs/scale.md).
  std::unique_ptr<PostgresChangeListener> change_listener;
  if (on_postgres) {
    change_listener = std::make_unique<PostgresChangeListener>(
        config->store.postgres_url,
        [&notifier](const std::set<sync::CaseId>& cases) { notifier.notify(cases); },
        [&notifier] { notifier.notify_all(); });
  }
  const AuditRecorder audit = [&control = *stores->control](const AuditEvent& event) {
    return control.append_audit(event);
  };
  SyncEndpointOptions sync_options;
  if (on_postgres) {
    auto epoch = stores->postgres_sync->instance_epoch();
    if (!epoch.ok()) return startup_failed(logger, epoch.error());
    sync_options.instance_epoch = *epoch;
  } else {  // Read once: a restore happens with casefiled stopped, and renews it.
    auto database = schema::Database::open_reader(config->database, stores->database_key);
    if (!database.ok()) return startup_failed(logger, database.error());
    auto epoch = read_instance_epoch(*database);
    if (!epoch.ok()) return startup_failed(logger, epoch.error());
    sync_options.instance_epoch = *epoch;
  }
  sync_options.relayed_author_key = relayed_author_keys(*stores->control);
  SyncEndpoints sync(*stores->sync, notifier, access.authenticator(), audit, metrics, sync_options);
  const SchemaEndpoint schema;
  // Held by a database-key rotation from its first rekey until the key is
  // replaced, so that statistics (its own connection) wait meanwhile.
  std::mutex database_key_mutex;
  KeyWrapEndpoints keys(*stores->keys, access.authenticator(), audit,
                        control_store_case_key_recipients(*stores->control));
  const StatisticsEndpoint statistics(
      [database = config->database, &key = stores->database_key, &database_key_mutex,
       postgres = stores->postgres_sync] {
        if (postgres != nullptr) return read_postgres_statistics(*postgres);
        const std::lock_guard lock(database_key_mutex);
        return read_statistics_snapshot(database, key);
      },
      access.authenticator(), audit);

  // Attachments: upload state in casefile.db (a connection a call, under the
  // database-key lock, so a key rotation never meets an open one) or in
  // PostgreSQL, bytes under attachments/ beside casefile.db (with several
  // instances, a shared volume: docs/scale.md).
  SqlcipherUploadStore sqlcipher_upload_store(
      opening_lender(config->database, stores->database_key, database_key_mutex));
  UploadStore& upload_store = on_postgres ? *stores->uploads : sqlcipher_upload_store;
  AttachmentFiles attachment_files(config->database.parent_path() / "attachments");
  if (Status prepared = attachment_files.prepare(); !prepared.ok())
    return startup_failed(logger, prepared.error());
  AttachmentOptions attachment_options;
  attachment_options.max_size_bytes = config->attachments.max_size_bytes;
  attachment_options.device_quota_bytes = config->attachments.device_quota_bytes;
  attachment_options.upload_expiry = std::chrono::seconds(config->attachments.upload_expiry_seconds);
  AttachmentEndpoints attachments(*stores->sync, upload_store, attachment_files, access.authenticator(),
                                  audit, metrics, attachment_options, system_clock_ms);
  const UploadSweeper upload_sweeper(attachments, logger,
                                     std::chrono::seconds(config->attachments.sweep_interval_seconds));

  Router router;
  std::atomic<const HttpServer*> running{nullptr};
  // Ready once the stores are open and the server listens, until it drains.
  const auto ready = [&running]() -> Status {
    const HttpServer* server = running.load();
    if (server == nullptr) return make_error("not_ready", "starting");
    if (server->draining()) return make_error("not_ready", "draining");
    return ok_status();
  };
  Status routes = add_operations_routes(router, metrics, ready);
  if (routes.ok()) routes = register_access_routes(router, access);
  if (routes.ok()) routes = register_sync_api_routes(router, SyncApi{sync, schema, keys, statistics});
  if (routes.ok()) routes = register_attachment_routes(router, attachments);
  if (routes.ok()) routes = register_tls_pins_route(router, tls_pin_statement_path(config->tls_certificate));
  if (!routes.ok()) return startup_failed(logger, routes.error());

  HttpServer::Options options;
  options.handle_signals = true;
  // Parked long-polls are answered at once, so their connections can close.
  options.on_drain = [&notifier] { notifier.close(); };
  options.on_tls_reloaded = [&access](const crypto::Sha256Digest& new_pin) {
    access.rotate_tls_pin(new_pin);
  };
  auto server = HttpServer::create(*config, router, metrics, logger, options);
  if (!server.ok()) return startup_failed(logger, server.error());
  const std::string url = listen_url(*config, (*server)->port());
  const std::string pin_hex = crypto::to_hex(*pin);
  logger.info("listening",
              {{"url", url}, {"tls_spki_sha256", pin_hex}, {"config", config->config_file.string()}});
  std::cout << "casefiled: serving " << url << "  (TLS pin, SPKI SHA-256: " << pin_hex << ")" << std::endl;
  // SIGUSR1: rotate the database key to database.key.next (written by
  // `casefile-admin database-key rotate`). Store calls wait, they do not fail.
  const auto rotate = [&] {
    if (on_postgres) {
      logger.error(
          "database_key_rotation_failed",
          {{"code", "not_applicable"}, {"message", "the stores are on PostgreSQL, not under database.key"}});
      return;
    }
    logger.info("database_key_rotation_started", {});
    std::vector<RotatingDatabase> databases;
    databases.push_back({config->database.filename().string(),
                         [&store = *stores->sqlcipher_sync](const crypto::SecretBytes& current,
                                                            const crypto::SecretBytes& next) {
                           return store.rekey(current, next);
                         }});
    databases.push_back({"control.db", [&store = *stores->sqlcipher_control](
                                           const crypto::SecretBytes&, const crypto::SecretBytes& next) {
                           return store.rekey(next);
                         }});
    databases.push_back(
        {key_wrap_database_path(config->database).filename().string(),
         [&store = *stores->sqlcipher_keys](const crypto::SecretBytes&, const crypto::SecretBytes& next) {
           return store.rekey(next);
         }});
    const std::lock_guard lock(database_key_mutex);
    Status rotated = finish_database_key_rotation(config->database_key_file, databases, [&] {
      auto key = read_database_key_file(config->database_key_file);
      if (key.ok()) stores->database_key = std::move(key).value();
      Status audited = stores->control->append_audit(
          AuditEvent{now_ms(), "casefiled", "database_key_rotated", "", {{"databases", databases.size()}}});
      if (!audited.ok()) {
        logger.error("audit_failed", {{"code", audited.error().code}, {"event", "database_key_rotated"}});
      }
    });
    if (!rotated.ok()) {
      if (rotated.error().code == "no_rotation")
        (void)record_rotation_failure(config->database_key_file, rotated.error());
      logger.error("database_key_rotation_failed",
                   {{"code", rotated.error().code}, {"message", rotated.error().message}});
      return;
    }
    logger.info("database_key_rotated", {});
  };
  const UserSignalListener rotation_listener(rotate);
  const PidFile pid_file(config->database.parent_path() / "casefiled.pid");
  running = server->get();
  (*server)->run();
  running = nullptr;
  sync.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a peer that vanished is an error code, not a death
  // A file that may grow no more (RLIMIT_FSIZE) fails the write with EFBIG,
  // answered storage_full, instead of killing the server.
  ::signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> arguments(argv + 1, argv + argc);
  for (const auto& argument : arguments) {
    if (argument == "--help" || argument == "-h") {
      std::cout << command_line_help();
      return 0;
    }
  }
  try {
    return serve(arguments);
  } catch (const std::exception& error) {
    // Exceptions are programming errors (DESIGN §2); report and fail.
    JsonLogger(LogLevel::error).error("fatal", {{"message", error.what()}});
    return 70;
  }
}
